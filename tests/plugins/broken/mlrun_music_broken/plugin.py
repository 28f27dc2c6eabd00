"""Fails at import time, like a plugin whose dependency was upgraded away."""

raise ImportError("simulated failure: libdrums 2.0 is required")
