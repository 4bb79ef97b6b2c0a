"""In-process adapters for ``eco2 chat --inline`` (no Redis, no broker); same semantics as Redis ones."""
