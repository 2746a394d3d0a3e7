"""Protocol-faithful local emulator of the Ollama HTTP API (see README.md)."""

from .app import create_app  # noqa: F401
