"""Drum kits: the 12 classes and their General MIDI notes, soundfonts and Hydrogen kits, procedural kits,
rendering, kit-relative names."""
