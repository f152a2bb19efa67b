"""Tests of call routing (RouteCall) over gRPC, against local HTTPS receivers."""
