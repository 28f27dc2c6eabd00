"""The torch modules of the emopia task."""
