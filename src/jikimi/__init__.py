"""Jikimi (지킴이): protection for North Korean defectors."""

__version__ = "0.1.0"
