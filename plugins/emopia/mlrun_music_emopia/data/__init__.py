"""Datasets of the emopia task: the EMOPIA 1.0 layout, the music21 `scores` corpus, the embedded synthetic corpus
and the factory that turns any of them into tokenized, windowed splits."""
