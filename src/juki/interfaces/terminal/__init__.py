"""The terminal web application (ARCHITECTURE.md §4 Terminals; docs/terminals.md)."""

from juki.interfaces.terminal.app import create_terminal_app

__all__ = ["create_terminal_app"]
