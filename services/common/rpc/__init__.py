"""gRPC plumbing of both services: server start-up, channels, interceptors, the error codec."""
