"""``flask --app wsgi backup PATH``, ``restore PATH`` and ``check``."""

from __future__ import annotations

import errno
import json
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import click
from flask import Flask

from ..extensions import db
from .backup import (
    BackupError,
    check_backup_target,
    check_not_in_use,
    create_backup,
    prepare_restore,
    sqlite_database_path,
)
from .check import human_size, is_known_revision, migration_script, run_checks


def _reason(error: OSError | sqlite3.Error) -> str:
    """One line for an operator: what went wrong and where, without a traceback."""
    if isinstance(error, OSError):
        if error.errno == errno.ENOSPC:
            return f"the disk is full ({error.filename or 'no space left on the device'})"
        where = f": {error.filename}" if error.filename else ""
        return f"{error.strerror or error}{where}"
    text = str(error)
    if "disk is full" in text:
        return "the disk is full"
    if isinstance(error, sqlite3.DatabaseError) and "not a database" in text:
        return "the database file is not an SQLite database (run `flask --app wsgi check`)"
    return f"SQLite: {text}"


def register_ops_cli(app: Flask) -> None:
    from .. import MIGRATIONS_DIR

    def database_file() -> Path:
        try:
            return sqlite_database_path(app.config["SQLALCHEMY_DATABASE_URI"])
        except BackupError as error:
            raise click.ClickException(error.message) from None

    def release_connections() -> None:
        # Our own pooled connections count as "in use" and would keep the old file open.
        db.session.remove()
        db.engine.dispose()

    @app.cli.command("backup")
    @click.argument("path", type=click.Path(path_type=Path))
    def backup_command(path):
        """Back up the database and attachments into PATH, safely while the portal runs.

        PATH is a new or empty directory, or a new .tar, .tar.gz or .tgz file. It gets
        manifest.json (time, migration, row counts, every file's size and SHA-256),
        planerka.db and attachments/.
        """
        database = database_file()
        started = time.perf_counter()
        try:
            check_backup_target(path)
        except BackupError as error:
            raise click.ClickException(error.message) from None
        with click.progressbar(length=0, label="Copying attachments", file=sys.stderr) as bar:
            try:
                manifest = create_backup(
                    path,
                    database,
                    Path(app.config["ATTACHMENTS_DIR"]),
                    progress=_bar_updater(bar),
                )
            except BackupError as error:
                raise click.ClickException(error.message) from None
            except (OSError, sqlite3.Error) as error:
                raise click.ClickException(f"The backup was not made: {_reason(error)}.") from None
        files = manifest["files"]
        rows = sum(manifest["row_counts"].values())
        click.echo(
            f"Backed up the database ({human_size(files[0]['size'])}, migration "
            f"{manifest['alembic_revision'] or 'none'}, {rows} rows in "
            f"{len(manifest['row_counts'])} tables) and {manifest['attachments']} attachments "
            f"({human_size(sum(f['size'] for f in files[1:]))}) to {path} "
            f"in {time.perf_counter() - started:.1f} s."
        )
        missing = manifest["missing_attachments"]
        if missing:
            click.echo(
                f"Warning: {len(missing)} attachment files were not there to copy (deleted "
                "while the backup ran, or lost before): attachment ids "
                + ", ".join(str(m["attachment_id"]) for m in missing[:20]),
                err=True,
            )
        damaged = [f for f in files if f.get("differs_from_row")]
        if damaged:
            click.echo(
                f"Warning: {len(damaged)} attachment files differ in size or SHA-256 from what "
                "the database recorded (changed on disk; copied as they are): attachment ids "
                + ", ".join(str(f["attachment_id"]) for f in damaged[:20])
                + ". Run `flask --app wsgi check --checksums`.",
                err=True,
            )

    @app.cli.command("restore")
    @click.argument("path", type=click.Path(exists=True, path_type=Path))
    @click.option("--yes", is_flag=True, help="Replace without asking.")
    @click.option(
        "--skip-reindex",
        is_flag=True,
        help="Delete the search index instead of rebuilding it now (rebuilt on the next start).",
    )
    def restore_command(path, yes, skip_reindex):
        """Replace the database and attachments with the backup at PATH.

        Stop the portal first. The backup is checked before anything is touched (manifest,
        sizes, SHA-256, PRAGMA integrity_check, row counts); the previous database and
        attachments directory are kept as <name>.before-restore-<UTC time>. The search
        index is then rebuilt from the restored database.
        """
        database = database_file()
        attachments_dir = Path(app.config["ATTACHMENTS_DIR"])
        script = migration_script(MIGRATIONS_DIR)
        release_connections()
        try:
            check_not_in_use(database)
            with click.progressbar(length=0, label="Checking the backup", file=sys.stderr) as bar:
                prepared = prepare_restore(
                    path,
                    database,
                    attachments_dir,
                    progress=_bar_updater(bar),
                    known_revision=lambda revision: is_known_revision(script, revision),
                )
        except BackupError as error:
            raise click.ClickException(error.message) from None
        except (OSError, sqlite3.Error) as error:
            raise click.ClickException(
                f"Nothing was restored, the live database is as it was: {_reason(error)}."
            ) from None
        manifest = prepared.manifest
        with prepared:
            click.echo(
                f"The backup made {manifest['created_at']} checks out: migration "
                f"{manifest['alembic_revision'] or 'none'}, "
                f"{sum(manifest['row_counts'].values())} rows, "
                f"{manifest['attachments']} attachments."
            )
            if not yes:
                click.confirm(
                    f"Replace the database {database} and the attachments in "
                    f"{attachments_dir} with it?",
                    abort=True,
                )
            release_connections()
            try:
                prepared.apply()
            except BackupError as error:
                raise click.ClickException(error.message) from None
            except (OSError, sqlite3.Error) as error:
                previous = prepared.previous_database
                kept = (
                    f" The previous database is kept as {previous}."
                    if previous and Path(previous).exists()
                    else ""
                )
                raise click.ClickException(f"The restore failed: {_reason(error)}.{kept}") from None
        click.echo(f"Restored {database} and {attachments_dir}.")
        if prepared.previous_database:
            click.echo(f"The previous database is kept as {prepared.previous_database}.")
        if prepared.previous_attachments:
            click.echo(f"The previous attachments are kept in {prepared.previous_attachments}.")
        for warning in prepared.warnings:
            click.echo(f"Warning: {warning}", err=True)
        _refresh_search_index(app, manifest, set(script.get_heads()), skip_reindex)

    @app.cli.command("check")
    @click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
    @click.option(
        "--checksums",
        is_flag=True,
        help="Also compare every attachment file with its SHA-256 (reads every file).",
    )
    def check_command(as_json, checksums):
        """Check the database, migrations, search index and attachment files.

        Exit status 0 when everything is consistent, 1 when anything is not.
        """
        results = run_checks(
            Path(app.config["ATTACHMENTS_DIR"]), MIGRATIONS_DIR, checksums=checksums
        )
        ok = all(result.ok for result in results)
        where = db.engine.url.render_as_string(hide_password=True)
        if as_json:
            report = {"ok": ok, "database": where, "checks": [r.as_dict() for r in results]}
            click.echo(json.dumps(report, ensure_ascii=False, indent=2, default=str))
        else:
            click.echo(f"Checking {where}")
            for result in results:
                click.echo(
                    f"  {'ok' if result.ok else 'FAILED':<6}  {result.title}: {result.summary}"
                )
                for problem in result.problems:
                    click.echo(f"          - {problem}")
                for warning in result.warnings:
                    click.echo(f"          ! {warning}")
            failed = sum(not result.ok for result in results)
            click.echo(
                "Everything is consistent." if ok else f"{failed} of {len(results)} checks failed."
            )
        click.get_current_context().exit(0 if ok else 1)


def _bar_updater(bar):
    def update(done: int, total: int) -> None:
        bar.length = total
        bar.update(done - bar.pos)

    return update


def _refresh_search_index(app: Flask, manifest: dict, heads: set, skip: bool) -> None:
    """The index described the replaced database: rebuild it, or delete it for later."""
    from ..search.engine import RebuildInProgressError
    from ..search.service import get_engine, rebuild_index

    engine = get_engine(app)
    at_head = set((manifest["alembic_revision"] or "").split(",")) == heads
    if not skip and at_head:
        total = sum(manifest["row_counts"].get(t, 0) for t in ("sales_tools",))
        try:
            with click.progressbar(length=total, label="Rebuilding the search index") as bar:
                count = rebuild_index(progress=bar.update)
        except RebuildInProgressError:
            click.echo("Another process is rebuilding the search index.", err=True)
        except Exception as error:  # noqa: BLE001 — the restore is done; the index can wait
            click.echo(f"Could not rebuild the search index: {error}", err=True)
        else:
            click.echo(f"Search index rebuilt: {count} tools.")
            return
    engine.close()
    shutil.rmtree(engine.path, ignore_errors=True)
    if at_head:
        click.echo("Search index deleted: it is rebuilt on the next start (or `reindex`).")
    else:
        click.echo(
            f"The restored database is at migration {manifest['alembic_revision'] or 'none'}, "
            f"not {', '.join(sorted(heads))}: run `flask --app wsgi db upgrade`, then "
            "`flask --app wsgi reindex` (the search index was deleted and is rebuilt then)."
        )
