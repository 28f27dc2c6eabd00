"""Training data: synthetic songs, MIDI analysis, rendered-song folders, chopping, bar-phase labels, chunk datasets."""
