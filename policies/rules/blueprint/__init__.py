"""Blueprint rules (layer a)."""
