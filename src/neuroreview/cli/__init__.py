"""The command line: ``neuroreview import | studies | export | run``."""

from neuroreview.cli.app import app, main

__all__ = ["app", "main"]
