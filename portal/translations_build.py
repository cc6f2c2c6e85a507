"""Compile gettext catalogs that are missing or older than their .po source.

``make`` compiles them; this is the safety net for any other way of starting the
app (a plain ``pip install`` and ``flask run``), so the UI never falls back to
untranslated text because a build step was skipped.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

log = logging.getLogger(__name__)
TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"


def compile_stale_catalogs(directory: Path = TRANSLATIONS_DIR) -> list[Path]:
    compiled = []
    for po_path in directory.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        try:
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file, locale=po_path.parent.parent.name)
            tmp_path = mo_path.with_suffix(f".mo.{os.getpid()}.tmp")
            with tmp_path.open("wb") as mo_file:
                write_mo(mo_file, catalog)
            tmp_path.replace(mo_path)
            compiled.append(mo_path)
        except OSError as error:  # a read-only install: run `make translations` instead
            log.warning("Could not compile %s: %s", po_path, error)
    return compiled
