"""Switchboard's gRPC services (config, registry) and the code they share."""
