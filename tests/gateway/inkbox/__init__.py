"""Tests of the Inkbox-dialect REST routes."""
