"""Test suite of Switchboard; mirrors the source tree."""
