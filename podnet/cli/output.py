"""Rendering result data for people (rich tables) and programs (json, csv, dot)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from rich.console import Console


def console() -> Console:
    """A console for tables: fixed width and no colour when not on a terminal (tests, pipes)."""
    if sys.stdout.isatty():
        return Console()
    width = int(os.environ.get("COLUMNS", "120"))
    return Console(width=width, color_system=None, force_terminal=False, highlight=False,
                   soft_wrap=True)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=None, separators=(",", ": ")) + "\n")


def emit_lines(lines: list[str]) -> None:
    sys.stdout.write("\n".join(lines) + "\n" if lines else "")
