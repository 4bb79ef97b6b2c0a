"""Protobuf package ``character``."""
