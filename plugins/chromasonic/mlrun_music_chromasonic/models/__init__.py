"""The torch modules of chromasonic: the LSTM and Transformer (neural) and the counted Markov baseline."""
