"""The version of lrsearch, in a leaf module that imports nothing (pyproject.toml reads it)."""

__version__ = "0.1.0"
