"""Shim so that legacy tooling (`python setup.py ...`, old pips) works; all metadata lives in setup.cfg."""

from setuptools import setup

setup()
