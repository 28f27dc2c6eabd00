"""The five exported models run together as the C++ plugin wires them."""
