"""Beatmaps: the .bsm format, the collection of labelled hits cut from beatmapped songs, scoring a beatmap against
a reference."""
