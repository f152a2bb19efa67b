"""Python code generated from the .proto files beside it (``make proto``); do not edit."""
