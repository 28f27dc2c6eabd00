"""Misbehaving plugins for host tests."""
