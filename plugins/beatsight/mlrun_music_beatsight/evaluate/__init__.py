"""The evaluate hooks of both tasks."""
