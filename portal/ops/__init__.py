"""Operations: online backup, restore and the consistency check of an installation.

``flask --app wsgi backup PATH``, ``restore PATH`` and ``check`` (see ``cli.py``); the
work itself is in ``backup.py`` and ``check.py`` and takes explicit paths, so it runs the
same from the command line and from tests.
"""

from .backup import (
    BackupError,
    DatabaseInUseError,
    NotSQLiteError,
    create_backup,
    prepare_restore,
    sqlite_database_path,
)
from .check import CheckResult, run_checks

__all__ = [
    "BackupError",
    "CheckResult",
    "DatabaseInUseError",
    "NotSQLiteError",
    "create_backup",
    "prepare_restore",
    "run_checks",
    "sqlite_database_path",
]
