"""Directory intake: no models yet."""
