"""Tests of the config service's public RPCs and its service layer."""
