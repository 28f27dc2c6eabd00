"""The five networks: their architectures as data (specs) and as PyTorch modules (networks, loss)."""
