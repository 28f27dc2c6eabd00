"""The torch modules of both tasks: the hit classifier (CNN) and the frame-level transcriber (CRNN), with their
losses and ONNX specs."""
