"""Inference that every translator shares: networks run on any image size, fast."""
