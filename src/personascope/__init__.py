"""personascope: measure and fix persona mode collapse in language models."""

__version__ = "0.1.0"
