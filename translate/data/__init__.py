"""Data: image I/O, dataset sources and the training pipeline."""
