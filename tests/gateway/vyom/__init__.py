"""Tests of the Vyom-dialect REST routes over HTTP."""
