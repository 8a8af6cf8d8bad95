"""Performances: the MIDI event codec, pose layouts, datasets, the synthetic performer, importers."""
