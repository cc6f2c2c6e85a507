"""Command-line tools: ``flask --app wsgi <command>``."""

from __future__ import annotations

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

    @app.cli.command("demo-logins")
    def demo_logins_command():
        """Print the demo accounts."""
        from .demo import DEMO_PASSWORD, demo_logins

        for email, name, role, team in demo_logins():
            click.echo(f"  {role:<8} {email:<34} {name} {('— ' + team) if team else ''}")
        click.echo(f"  password for every demo account: {DEMO_PASSWORD}")
