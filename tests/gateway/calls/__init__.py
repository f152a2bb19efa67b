"""Tests of the gateway's call routes: the REST routing route and the Exotel adapter."""
