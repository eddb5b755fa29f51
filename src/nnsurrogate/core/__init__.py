"""Shared machinery used by every pillar: networks, training, uncertainty, metrics, splits, files."""
