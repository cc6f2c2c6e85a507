"""Normalising text people type or send: no control characters in what the portal stores."""

from __future__ import annotations

import re

# C0 and C1 controls and DEL. Invisible, break CSV/XLSX exports and terminals, and NUL is
# refused by PostgreSQL; nobody means to type them.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROLS_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_line(value: str | None) -> str:
    """One-line text (a title, a name, a tag): controls and line breaks become spaces,
    ends trimmed."""
    return _CONTROLS.sub(" ", value or "").strip()


def clean_multiline(value: str | None) -> str:
    """Text with lines (a note): Windows line ends made plain, other controls dropped."""
    return _CONTROLS_BUT_LINES.sub("", (value or "").replace("\r\n", "\n").replace("\r", "\n"))
