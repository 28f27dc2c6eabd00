"""A plugin whose import fails, as after a bad upgrade."""
