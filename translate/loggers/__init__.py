"""Training observers that ship with the host, registered like any plugin."""
