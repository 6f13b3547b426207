from core.errors import DomainError, conflict, forbidden, invalid, not_found  # noqa: F401  (moved to core)
