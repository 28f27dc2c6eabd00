"""Bar-phase estimation with anticipation (mlrun plugin ``phase``)."""
