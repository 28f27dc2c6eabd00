"""beatsight: drum-hit classification, beatmap data collection and drum transcription for mlrun."""
