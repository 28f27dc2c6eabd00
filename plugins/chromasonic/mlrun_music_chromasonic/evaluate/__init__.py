"""Held-out evaluation: the evaluate hook (held-out scoring and generation), metrics and the compare command."""
