"""Kelly MIDI Companion's five real-time models as an mlrun task (trained with mlrun, exported to RTNeural JSON)."""
