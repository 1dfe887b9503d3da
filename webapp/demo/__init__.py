"""Synthetic demonstration data with known true rates."""
