"""Exporting trained models: the shared ONNX helper (verified with onnxruntime)."""
