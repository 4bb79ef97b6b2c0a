"""Adapters: one package per technology, each implementing ports from ``eco2.ports``."""
