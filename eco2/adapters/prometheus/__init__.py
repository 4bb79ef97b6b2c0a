"""Prometheus: metric definitions, the metrics adapter, and the multiprocess registry plumbing."""
