"""Ports: the Protocols the core depends on; adapters in ``eco2.adapters`` implement them."""
