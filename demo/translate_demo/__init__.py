"""The gan-translate web demo."""
