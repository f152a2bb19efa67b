"""Tests of the `make bench` harness (pieces only; nothing here is timed)."""
