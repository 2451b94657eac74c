"""admin: billing administration of an account (its type)."""

from __future__ import annotations

import click

from zplan.cli.options import (
    Group,
    cli,
    command,
    settings,
)
from zplan.errors import ExitCode


@cli.group("admin", cls=Group, epilog="Examples:\n  zplan admin account acme --type managed")
def admin_group() -> None:
    """Sandbox billing administration."""


@command(
    admin_group,
    "account",
    """
zplan admin account acme --type add_agents_only
zplan admin account acme --type self_service
""",
)
@click.argument("subdomain")
@click.option(
    "--type",
    "account_type",
    required=True,
    type=click.Choice(["self_service", "online_assisted", "add_agents_only", "managed"]),
)
@click.pass_context
def admin_account_command(ctx: click.Context, subdomain: str, account_type: str) -> int:
    """Set an account's type (recorded as a version and an audit entry)."""
    from zplan.pipeline import workflow

    config = settings(ctx)
    with config.store() as store:
        account = workflow.admin_set_type(store, subdomain, account_type, config)
    click.echo(f"{subdomain} is now {account.type.value} (serial {account.serial}).")
    return ExitCode.OK
