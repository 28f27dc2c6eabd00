"""mlrun plugin `emopia`: emotion-conditioned piano generation with duration control."""
