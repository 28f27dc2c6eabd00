"""Training data of both tasks: rendered hits and exported collections (classifier), rendered songs (transcriber),
the render cache."""
