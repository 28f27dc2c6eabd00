"""Melodies in: note-event encoding, ABC parsing and its cache, the datasets and their splits; MIDI/ABC out."""
