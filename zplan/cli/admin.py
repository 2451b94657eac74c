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
    """Billing administration (signed by an operator key)."""


@command(
    admin_group,
    "account",
    """
ZPLAN_OPERATOR_KEY=~/.zplan/operator.key zplan --actor ops@example.com admin account acme --type managed
zplan admin account acme --type self_service   # needs ZPLAN_OPERATOR_KEY and --actor
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
    """Set an account's type (recorded as a version and an audit entry).

    Needs --actor and an operator key (ZPLAN_OPERATOR_KEY) whose public part the
    store registered (state init --operator-key, or state trust-key --role operator).
    """
    from zplan.pipeline import workflow

    account, head = workflow.admin_set_type(subdomain, account_type, settings(ctx))
    click.echo(f"{subdomain} is now {account.type.value} (serial {account.serial}).")
    if head:
        click.echo(f"audit head: {subdomain} #{account.serial} sha256:{head}")
    return ExitCode.OK
