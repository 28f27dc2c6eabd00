"""Example third-party plugin for mlrun-music."""
