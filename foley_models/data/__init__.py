"""Performances: event codec, pose layouts, datasets, synthetic performer, importers."""
