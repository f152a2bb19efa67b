"""The REST gateway: the Inkbox and Vyom HTTP dialects translated onto gRPC."""
