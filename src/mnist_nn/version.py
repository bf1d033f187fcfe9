"""The package's version: one source, read by pyproject.toml and written into every model file."""

__version__ = "0.1.0"
