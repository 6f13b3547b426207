"""Connectors: no models yet."""
