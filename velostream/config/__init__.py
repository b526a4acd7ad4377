"""Configuration files: YAML with ``extends`` and ``${VAR:-default}`` substitution (DIALECT §7)."""

from velostream.config.yaml_config import load_properties, substitute

__all__ = ["load_properties", "substitute"]
