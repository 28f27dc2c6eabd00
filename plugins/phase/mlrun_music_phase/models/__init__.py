"""The bar-phase network: a causal TCN on a log-mel front end, its loss and its ONNX spec."""
