"""Command-line tools: ``flask --app wsgi <command>``."""

from __future__ import annotations

import sys

import click
from flask import Flask

from .auth import services as accounts


def register_cli(app: Flask) -> None:
    @app.cli.command("create-user")
    @click.argument("email")
    @click.option("--name", required=True, help='Full name, e.g. "Ирина Соколова".')
    @click.option(
        "--role",
        required=True,
        type=click.Choice(["manager", "lead", "head", "admin"], case_sensitive=False),
    )
    @click.option("--password", required=True, help="At least 10 characters.")
    @click.option("--team", default=None, help="Team name; created when it does not exist.")
    def create_user_command(email, name, role, password, team):
        """Create a user who can sign in at once."""
        try:
            user = accounts.create_user(
                email,
                name,
                role,
                password,
                team_name=team,
                min_password_length=app.config["PASSWORD_MIN_LENGTH"],
            )
        except accounts.AccountError as error:
            raise click.ClickException(error.message) from None
        team_note = f", team {user.team.name}" if user.team else ""
        click.echo(f"Created {user.role} {user.email} ({user.name}{team_note}).")

    @app.cli.command("create-token")
    @click.argument("email")
    @click.option("--name", default="CLI", help="What the token is for.")
    def create_token_command(email, name):
        """Make an API token for EMAIL and print only the token."""
        user = accounts.find_user_by_email(email)
        if user is None or not user.is_active:
            raise click.ClickException(f"No active user with e-mail {email}.")
        _, secret = accounts.create_api_token(user, name)
        click.echo(secret)

    @app.cli.command("seed-demo")
    @click.option("--force", is_flag=True, help="Seed even if the database has users.")
    def seed_demo_command(force):
        """Load the Russian demo company the first time (safe to run again)."""
        from .demo import DEMO_PASSWORD, seed_demo

        created = seed_demo(force=force)
        if any(created.values()):
            parts = ", ".join(f"{count} {name}" for name, count in created.items() if count)
            click.echo(f"Demo data loaded: {parts}. Password for all: {DEMO_PASSWORD}")
        else:
            click.echo("Demo data already present; nothing changed.")

    @app.cli.command("import-deals")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(["auto", "amocrm", "bitrix24", "generic"]),
        default="auto",
        show_default=True,
    )
    @click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
    @click.option("--skip-errors", is_flag=True, help="Import valid rows, skip rows with errors.")
    @click.option("--as", "as_email", default=None, help="Import as this user (default: an admin).")
    def import_deals_command(file, fmt, dry_run, skip_errors, as_email):
        """Import a CRM deals export (amoCRM, Bitrix24 or Planerka columns)."""
        from pathlib import Path

        from sqlalchemy import select

        from .deals import services as deals
        from .deals.importing import ImportFileError, parse_deal_file
        from .deals.uploads import file_sha256
        from .extensions import db
        from .models import User

        actor = (
            accounts.find_user_by_email(as_email)
            if as_email
            else db.session.scalar(
                select(User).where(User.role == "admin", User.is_active.is_(True)).order_by(User.id)
            )
        )
        if actor is None:
            raise click.ClickException("No user to import as: create an admin or pass --as EMAIL.")
        path = Path(file)
        with click.progressbar(length=0, label="Reading", file=sys.stderr) as bar:

            def reading(n):
                bar.length = max(bar.length or 0, n)
                bar.update(n - bar.pos)

            try:
                parsed = parse_deal_file(path, path.name, fmt, stage_map=deals.stage_map(),
                                         progress=reading)  # fmt: skip
            except ImportFileError as error:
                raise click.ClickException(str(error.message)) from None
        with click.progressbar(length=len(parsed.deals), label="Saving", file=sys.stderr) as bar:
            outcome = deals.import_deals(
                actor, parsed, filename=path.name, sha256=file_sha256(path), dry_run=dry_run,
                skip_errors=skip_errors, timezone=app.config["BABEL_DEFAULT_TIMEZONE"],
                progress=lambda n: bar.update(n - bar.pos),
            )  # fmt: skip
        click.echo(
            f"{'Dry run — ' if dry_run else ''}format {outcome.format}: "
            f"{outcome.created} new, {outcome.updated} updated, {outcome.unchanged} unchanged, "
            f"{outcome.skipped} with errors."
        )
        for error in outcome.errors[:20]:
            click.echo(f"  row {error.row}: {error.message}", err=True)
        if len(outcome.errors) > 20:
            click.echo(f"  … and {len(outcome.errors) - 20} more", err=True)
        if outcome.errors and not outcome.written and not dry_run:
            raise click.ClickException(
                "Nothing was imported because of the errors above; fix them or use --skip-errors."
            )

    @app.cli.command("demo-logins")
    def demo_logins_command():
        """Print the demo accounts."""
        from .demo import DEMO_PASSWORD, demo_logins

        for email, name, role, team in demo_logins():
            click.echo(f"  {role:<8} {email:<34} {name} {('— ' + team) if team else ''}")
        click.echo(f"  password for every demo account: {DEMO_PASSWORD}")
