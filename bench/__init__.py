"""``make bench``: the routing decision RPC measured against a bare gRPC echo ceiling."""
