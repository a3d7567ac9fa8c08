"""The host's own hook implementations: registered like any plugin, blocked by the same names."""
