"""What an operator sees: JSON logs, Prometheus metrics and their server, request context."""
