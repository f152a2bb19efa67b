"""The number-registry service: inbound number mappings, context strategies, call routing."""
