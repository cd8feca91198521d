"""Tests of the face package (no Home Assistant needed)."""
