"""Shared pytest configuration for the whole test suite (fixtures used by more than one package)."""
