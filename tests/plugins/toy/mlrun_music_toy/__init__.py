"""A tiny task for testing the trainer: learn y = W x + noise."""
