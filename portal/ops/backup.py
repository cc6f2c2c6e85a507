"""Online backups of an SQLite installation, and restoring them.

A backup is a directory, or the same directory packed as ``.tar``, ``.tar.gz`` or ``.tgz``::

    manifest.json          when, which migration, row counts, every file with size + SHA-256
    planerka.db            a consistent copy of the database
    attachments/<name>     the files of the Attachment rows of that copy

Why the copy is consistent while the portal writes: SQLite's backup API copies every page
in one step, inside one read transaction, so it sees one committed state; in WAL mode the
writers carry on meanwhile. The attachments are then chosen from the rows of the *copy*,
not of the live table, so the files match the snapshot. Stored names are generated and a
file is never rewritten, so a file read a moment later is still the file its row meant;
only a file whose row was deleted after the snapshot may be gone by then, and it is listed
under ``missing_attachments`` in the manifest.

Restoring is the opposite of online: the database file is replaced, which running
processes would not notice (they keep the old file open). ``prepare_restore`` checks the
backup and stages everything beside the live files; ``PreparedRestore.apply`` refuses
while another connection has the database open, then swaps the files in with renames and
keeps the previous ones as ``<name>.before-restore-<timestamp>``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import tarfile
import tempfile
import time
from collections.abc import Callable
from contextlib import closing, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

__all__ = [
    "ATTACHMENTS_NAME",
    "DATABASE_NAME",
    "MANIFEST_NAME",
    "BackupError",
    "DatabaseInUseError",
    "check_backup_target",
    "NotSQLiteError",
    "PreparedRestore",
    "create_backup",
    "integrity_problems",
    "prepare_restore",
    "sqlite_database_path",
]

FORMAT = "planerka-backup"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
DATABASE_NAME = "planerka.db"
ATTACHMENTS_NAME = "attachments"
TAR_MODES = {".tar.gz": "w:gz", ".tgz": "w:gz", ".tar": "w"}
CHUNK = 1024 * 1024
# Plain generated names only: a manifest must not steer a restore outside its directories.
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")

Progress = Callable[[int, int], None]  # (files done, files in all)


class BackupError(Exception):
    """A backup cannot be made or restored; ``message`` says why in one sentence."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotSQLiteError(BackupError):
    """DATABASE_URL names another database; its own tools (pg_dump) do this job."""


class DatabaseInUseError(BackupError):
    """Another connection has the database open: the portal is probably running."""


class _UnreadableDatabaseError(BackupError):
    """The live database cannot be opened at all (damaged, or not a database)."""


@dataclass
class PreparedRestore:
    """A checked backup staged beside the live files; ``apply()`` swaps it in.

    Use it as a context manager: leaving it removes whatever was staged and not applied.
    """

    manifest: dict
    database: Path
    attachments_dir: Path
    staged_database: Path
    staged_attachments: Path
    scratch: Path | None = None
    warnings: list[str] = field(default_factory=list)
    previous_database: Path | None = None
    previous_attachments: Path | None = None
    applied: bool = False

    def __enter__(self) -> PreparedRestore:
        return self

    def __exit__(self, *exc) -> None:
        self.discard()

    def discard(self) -> None:
        with suppress(FileNotFoundError):
            self.staged_database.unlink()
        shutil.rmtree(self.staged_attachments, ignore_errors=True)
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def apply(self) -> None:
        """Replace the live database and attachments directory with the staged ones.

        Refuses (DatabaseInUseError) while any other connection has the database open.
        The previous database and directory are kept under ``.before-restore-<stamp>``.
        """
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        self.database.parent.mkdir(parents=True, exist_ok=True)
        if self.database.exists():
            self.previous_database = _free_name(self.database, f"before-restore-{stamp}")
            try:
                guard = _exclusive_connection(self.database)
            except _UnreadableDatabaseError:
                guard = None  # a damaged database is the usual reason to restore
            try:
                if guard is not None:
                    # The old file becomes self-contained before it is set aside: a -wal
                    # left behind would be replayed into the restored database.
                    with suppress(sqlite3.DatabaseError):
                        guard.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
                        guard.execute("PRAGMA journal_mode=DELETE").fetchall()
                try:
                    os.link(self.database, self.previous_database)
                except OSError:
                    shutil.copy2(self.database, self.previous_database)
                wal = Path(f"{self.database}-wal")
                if wal.exists():  # not merged: it belongs with the previous database
                    shutil.copy2(wal, f"{self.previous_database}-wal")
                os.replace(self.staged_database, self.database)
            finally:
                if guard is not None:
                    guard.close()
        else:
            os.replace(self.staged_database, self.database)
        for suffix in ("-wal", "-shm", "-journal"):
            with suppress(FileNotFoundError):
                Path(f"{self.database}{suffix}").unlink()
        _fsync_directory(self.database.parent)
        if self.attachments_dir.exists():
            self.previous_attachments = _free_name(self.attachments_dir, f"before-restore-{stamp}")
            os.rename(self.attachments_dir, self.previous_attachments)
        os.rename(self.staged_attachments, self.attachments_dir)
        _fsync_directory(self.attachments_dir.parent)
        self.applied = True


# --- where the database is ------------------------------------------------------------


def sqlite_database_path(uri: str) -> Path:
    """The file of an SQLite DATABASE_URL; NotSQLiteError for any other database."""
    url = make_url(uri)
    if url.get_backend_name() != "sqlite":
        raise NotSQLiteError(
            f"DATABASE_URL points to a {url.get_backend_name()} database; backup, restore and "
            "the integrity part of check handle SQLite only. Use the database's own tools "
            "(for PostgreSQL: pg_dump -Fc and pg_restore) and copy ATTACHMENTS_DIR beside "
            "the dump."
        )
    name = url.database or ""
    if not name or name == ":memory:" or name.startswith("file:"):
        raise BackupError("DATABASE_URL names an in-memory SQLite database: nothing to back up.")
    return Path(name).absolute()


# --- backup ---------------------------------------------------------------------------


def create_backup(
    target: Path,
    database: Path,
    attachments_dir: Path,
    *,
    progress: Progress | None = None,
    busy_timeout: float = 30.0,
) -> dict:
    """Back up ``database`` and the files of its attachment rows into ``target``; returns
    the manifest.

    ``target`` is a new or empty directory, or a new ``.tar``/``.tar.gz``/``.tgz`` file.
    Safe while the portal runs and writes (see the module docstring).
    """
    target = Path(target).absolute()
    database = Path(database)
    mode = _tar_mode(target)
    check_backup_target(target)
    if not database.is_file():
        raise BackupError(f"There is no database at {database}.")

    created_target = not target.exists()
    if mode is None:
        target.mkdir(parents=True, exist_ok=True)
        work = target
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        manifest = _write_backup(work, database, Path(attachments_dir), progress, busy_timeout)
        if mode is not None:
            _pack(work, target, mode)
    except BaseException:
        if mode is not None or created_target:
            shutil.rmtree(work, ignore_errors=True)
        else:  # the empty directory we were given: empty it again
            for child in work.iterdir():
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
        raise
    if mode is not None:
        shutil.rmtree(work, ignore_errors=True)
    return manifest


def check_backup_target(target: Path) -> None:
    """Refuse a ``target`` that exists, unless it is an empty directory."""
    target = Path(target)
    if _tar_mode(target) is not None:
        if target.exists():
            raise BackupError(f"{target} already exists; choose a new file name.")
    elif target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} exists and is not an empty directory; choose a new path.")


def _write_backup(
    work: Path, database: Path, attachments_dir: Path, progress, busy_timeout: float
) -> dict:
    started = time.monotonic()
    created_at = datetime.now(UTC)
    db_copy = work / DATABASE_NAME
    _snapshot(database, db_copy, busy_timeout)
    with closing(sqlite3.connect(db_copy)) as copy:
        problems = integrity_problems(copy)
        if problems:
            raise BackupError(
                "The copy of the database fails PRAGMA integrity_check "
                f"({problems[0]}); the live database is damaged: run `flask --app wsgi check`."
            )
        revision = _alembic_revision(copy)
        row_counts = _row_counts(copy)
        rows = (
            copy.execute(
                "SELECT id, stored_name, size, sha256 FROM attachments ORDER BY id"
            ).fetchall()
            if "attachments" in row_counts
            else []
        )
    files = [_file_entry(work, db_copy)]
    missing: list[dict] = []
    files_dir = work / ATTACHMENTS_NAME
    files_dir.mkdir()
    if progress:
        progress(0, len(rows))
    for done, (attachment_id, stored_name, size, sha256) in enumerate(rows, 1):
        name = Path(stored_name).name
        try:
            copied_size, copied_sha = _copy_hashing(attachments_dir / name, files_dir / name)
        except FileNotFoundError:
            missing.append({"attachment_id": attachment_id, "stored_name": name})
        else:
            entry = {"path": f"{ATTACHMENTS_NAME}/{name}", "size": copied_size}
            entry["sha256"] = copied_sha
            entry["attachment_id"] = attachment_id
            if (copied_size, copied_sha) != (size, sha256):
                entry["differs_from_row"] = True
            files.append(entry)
        if progress:
            progress(done, len(rows))
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": created_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "seconds": round(time.monotonic() - started, 3),
        "source": {"database": str(database), "attachments_dir": str(attachments_dir)},
        "alembic_revision": revision,
        "row_counts": row_counts,
        "database": DATABASE_NAME,
        "attachments": len(files) - 1,
        "missing_attachments": missing,
        "files": files,
    }
    manifest_path = work / MANIFEST_NAME
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", "utf-8")
    _fsync_file(manifest_path)
    _fsync_directory(files_dir)
    _fsync_directory(work)
    return manifest


def _snapshot(database: Path, destination: Path, busy_timeout: float) -> None:
    """A consistent copy of ``database`` at ``destination``, as one self-contained file."""
    with (
        closing(sqlite3.connect(database, timeout=busy_timeout)) as source,
        closing(sqlite3.connect(destination)) as copy,
    ):
        source.backup(copy)  # pages=-1: every page in one step, one read transaction
        # The pages carry the live database's WAL flag; a backup is a single file.
        copy.execute("PRAGMA journal_mode=DELETE").fetchall()
    _fsync_file(destination)


def _pack(work: Path, target: Path, mode: str) -> None:
    partial = target.with_name(f".{target.name}.partial")
    try:
        with tarfile.open(partial, mode) as tar:
            for path in sorted(work.rglob("*")):
                tar.add(path, arcname=path.relative_to(work).as_posix(), recursive=False)
        _fsync_file(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


# --- restore --------------------------------------------------------------------------


def prepare_restore(
    source: Path,
    database: Path,
    attachments_dir: Path,
    *,
    progress: Progress | None = None,
    known_revision: Callable[[str], bool] | None = None,
) -> PreparedRestore:
    """Check the backup at ``source`` and stage its files beside the live ones.

    Nothing live is touched: the manifest, every size and SHA-256, the database's
    ``PRAGMA integrity_check`` and row counts are checked on the staged copies. Raises
    BackupError with the first problem found.
    """
    source = Path(source).absolute()
    database = Path(database).absolute()
    attachments_dir = Path(attachments_dir).absolute()
    database.parent.mkdir(parents=True, exist_ok=True)
    attachments_dir.parent.mkdir(parents=True, exist_ok=True)
    scratch = None
    staged_attachments = None
    staged_database = None
    try:
        if source.is_file():
            scratch = Path(tempfile.mkdtemp(prefix=".planerka-restore-", dir=database.parent))
            root = _unpack(source, scratch)
        elif source.is_dir():
            root = source
        else:
            raise BackupError(f"There is no backup at {source}.")
        manifest = read_manifest(root)
        revision = manifest["alembic_revision"]
        if known_revision and revision and not all(map(known_revision, revision.split(","))):
            raise BackupError(
                f"The backup is at migration {revision}, which this version of Planerka "
                "does not know: restore it with the version that made it."
            )
        entries = {entry["path"]: entry for entry in manifest["files"]}

        handle, name = tempfile.mkstemp(
            prefix=f".{database.name}.restore-", suffix=".tmp", dir=database.parent
        )
        os.close(handle)
        staged_database = Path(name)
        _copy_verified(root, entries.pop(DATABASE_NAME), staged_database)
        _copy_mode(database, staged_database, 0o644)
        _check_database(staged_database, manifest)

        staged_attachments = Path(
            tempfile.mkdtemp(prefix=f".{attachments_dir.name}.restore-", dir=attachments_dir.parent)
        )
        _copy_mode(attachments_dir, staged_attachments, 0o755)
        if progress:
            progress(0, len(entries))
        for done, entry in enumerate(entries.values(), 1):
            _copy_verified(root, entry, staged_attachments / Path(entry["path"]).name)
            if progress:
                progress(done, len(entries))
        _fsync_directory(staged_attachments)
    except BaseException:
        if staged_database is not None:
            staged_database.unlink(missing_ok=True)
        if staged_attachments is not None:
            shutil.rmtree(staged_attachments, ignore_errors=True)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        raise
    warnings = []
    if manifest["missing_attachments"]:
        warnings.append(
            f"{len(manifest['missing_attachments'])} attachment file(s) were already missing "
            "when the backup was made (see missing_attachments in its manifest); "
            "`flask --app wsgi check` will list them."
        )
    return PreparedRestore(
        manifest=manifest,
        database=database,
        attachments_dir=attachments_dir,
        staged_database=staged_database,
        staged_attachments=staged_attachments,
        scratch=scratch,
        warnings=warnings,
    )


def read_manifest(root: Path) -> dict:
    """The manifest of the backup directory ``root``, its shape checked."""
    path = root / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{root} is not a Planerka backup: it has no {MANIFEST_NAME}.") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise BackupError(f"The manifest {path} cannot be read: {error}.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not the manifest of a Planerka backup.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"The backup has format version {manifest.get('format_version')!r}; this version "
            f"of Planerka reads version {FORMAT_VERSION}."
        )
    files = manifest.get("files")
    if not isinstance(files, list) or not all(_valid_entry(entry) for entry in files):
        raise BackupError(f"The file list in {path} is damaged.")
    paths = [entry["path"] for entry in files]
    if len(set(paths)) != len(paths) or DATABASE_NAME not in paths:
        raise BackupError(f"The file list in {path} is damaged.")
    manifest.setdefault("alembic_revision", None)
    manifest.setdefault("missing_attachments", [])
    manifest.setdefault("row_counts", {})
    return manifest


def _valid_entry(entry) -> bool:
    if not isinstance(entry, dict):
        return False
    path, size, sha256 = entry.get("path"), entry.get("size"), entry.get("sha256")
    if not isinstance(path, str) or not isinstance(size, int) or not isinstance(sha256, str):
        return False
    if path == DATABASE_NAME:
        return True
    folder, _, name = path.partition("/")
    return folder == ATTACHMENTS_NAME and bool(SAFE_NAME.match(name))


def _copy_verified(root: Path, entry: dict, destination: Path) -> None:
    source = root / entry["path"]
    try:
        size, sha256 = _copy_hashing(source, destination)
    except FileNotFoundError:
        raise BackupError(f"The backup is incomplete: {entry['path']} is missing.") from None
    if size != entry["size"]:
        raise BackupError(
            f"{entry['path']} in the backup is {size} bytes, the manifest says "
            f"{entry['size']}: the backup is damaged (truncated?)."
        )
    if sha256 != entry["sha256"]:
        raise BackupError(
            f"{entry['path']} in the backup does not match its SHA-256 in the manifest: "
            "the backup is damaged."
        )


def _check_database(path: Path, manifest: dict) -> None:
    try:
        with closing(sqlite3.connect(path)) as copy:
            problems = integrity_problems(copy)
            counts = _row_counts(copy) if not problems else {}
    except sqlite3.DatabaseError as error:
        problems = [str(error)]
    if problems:
        raise BackupError(
            f"The database in the backup fails PRAGMA integrity_check: {problems[0]}"
            + (f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else "")
            + "."
        )
    expected = manifest["row_counts"]
    if expected and counts != expected:
        differing = sorted(
            t for t in set(counts) | set(expected) if counts.get(t) != expected.get(t)
        )
        raise BackupError(
            "The database in the backup does not hold the rows its manifest lists "
            f"(tables {', '.join(differing[:5])})."
        )


def _unpack(archive: Path, scratch: Path) -> Path:
    try:
        with tarfile.open(archive) as tar:
            # The "data" filter refuses absolute paths, "..", links and device files.
            tar.extractall(scratch, filter="data")
    except (tarfile.TarError, OSError, EOFError) as error:
        raise BackupError(f"{archive} cannot be unpacked: {error}.") from None
    return scratch


def _exclusive_connection(database: Path) -> sqlite3.Connection:
    """A connection holding the database's exclusive lock; DatabaseInUseError otherwise.

    In WAL mode every open connection keeps a shared lock on the database file, even when
    idle, so this fails as long as any process (a gunicorn worker) has it open.
    """
    connection = sqlite3.connect(database, timeout=0.5, isolation_level=None)
    try:
        connection.execute("PRAGMA locking_mode=EXCLUSIVE")
        connection.execute("BEGIN EXCLUSIVE")
        connection.execute("SELECT count(*) FROM sqlite_master").fetchall()
        connection.execute("COMMIT")  # the lock stays: locking_mode is EXCLUSIVE
    except sqlite3.OperationalError as error:
        connection.close()
        if "locked" in str(error) or "busy" in str(error):
            raise DatabaseInUseError(
                f"The database {database} is open in another process: stop the portal "
                "(gunicorn, `make run`) and any other `flask` command, then restore again."
            ) from None
        raise _UnreadableDatabaseError(
            f"The database {database} cannot be opened: {error}."
        ) from None
    except sqlite3.DatabaseError as error:
        connection.close()
        raise _UnreadableDatabaseError(
            f"The database {database} cannot be opened: {error}."
        ) from None
    except BaseException:
        connection.close()
        raise
    return connection


def check_not_in_use(database: Path) -> None:
    """Raise DatabaseInUseError when another connection has ``database`` open."""
    if Path(database).exists():
        with suppress(_UnreadableDatabaseError):
            _exclusive_connection(Path(database)).close()


# --- SQLite helpers -------------------------------------------------------------------


def integrity_problems(connection: sqlite3.Connection) -> list[str]:
    """The lines of ``PRAGMA integrity_check`` other than ``ok``."""
    rows = [row[0] for row in connection.execute("PRAGMA integrity_check").fetchall()]
    return [row for row in rows if row != "ok"]


def _alembic_revision(connection: sqlite3.Connection) -> str | None:
    try:
        rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.OperationalError:
        return None
    return ",".join(sorted(row[0] for row in rows)) or None


def _row_counts(connection: sqlite3.Connection) -> dict[str, int]:
    names = [
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    quoted = {name: '"' + name.replace('"', '""') + '"' for name in names}
    return {
        name: connection.execute(f"SELECT count(*) FROM {quoted[name]}").fetchone()[0]
        for name in names
    }


# --- files ----------------------------------------------------------------------------


def _tar_mode(path: Path) -> str | None:
    name = path.name.lower()
    return next((mode for suffix, mode in TAR_MODES.items() if name.endswith(suffix)), None)


def _copy_hashing(source: Path, destination: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as reading, destination.open("wb") as writing:
        while chunk := reading.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            writing.write(chunk)
        writing.flush()
        os.fsync(writing.fileno())
    return size, digest.hexdigest()


def _file_entry(root: Path, path: Path) -> dict:
    digest = hashlib.sha256()
    with path.open("rb") as reading:
        while chunk := reading.read(CHUNK):
            digest.update(chunk)
    return {
        "path": path.relative_to(root).as_posix(),
        "size": path.stat().st_size,
        "sha256": digest.hexdigest(),
    }


def _copy_mode(live: Path, staged: Path, default: int) -> None:
    """Staged files come from mkstemp/mkdtemp (owner only); keep the live file's mode."""
    try:
        mode = live.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = default
    os.chmod(staged, mode)


def _free_name(path: Path, label: str) -> Path:
    candidate = path.with_name(f"{path.name}.{label}")
    n = 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.{label}-{n}")
    return candidate


def _fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_directory(path: Path) -> None:
    with suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
