"""RTNeural's JSON model format: export from PyTorch, a NumPy runner with RTNeural's semantics, the validator."""
