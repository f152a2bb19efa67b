"""Fixtures' building blocks: test databases, the in-process stack, subprocess helpers."""
