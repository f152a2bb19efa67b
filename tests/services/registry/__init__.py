"""Tests of the registry service over gRPC."""
