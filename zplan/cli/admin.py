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
zplan --actor ops@example.com admin account acme --live   # it exists in Zendesk: change orders
""",
)
@click.argument("subdomain")
@click.option(
    "--type",
    "account_type",
    default=None,
    type=click.Choice(["self_service", "online_assisted", "add_agents_only", "managed"]),
)
@click.option("--live", is_flag=True, help="Mark the account live (it exists in Zendesk).")
@click.pass_context
def admin_account_command(
    ctx: click.Context, subdomain: str, account_type: str | None, live: bool
) -> int:
    """Set an account's type, or mark it live (each recorded as a version and an audit entry).

    Needs --actor and an operator key (ZPLAN_OPERATOR_KEY) whose public part the
    store registered (state init --operator-key, or state trust-key --role operator).
    """
    from zplan.pipeline import workflow

    if account_type is None and not live:
        raise click.UsageError("give --type TYPE, --live, or both")
    config = settings(ctx)
    for change in ([account_type] if account_type else []) + (["live"] if live else []):
        if change == "live":
            account, head = workflow.admin_set_live(subdomain, config)
            click.echo(
                f"{subdomain} is live (serial {account.serial}): apply writes change orders."
            )
        else:
            account, head = workflow.admin_set_type(subdomain, change, config)
            click.echo(f"{subdomain} is now {account.type.value} (serial {account.serial}).")
        if head:
            click.echo(f"audit head: {subdomain} #{account.serial} sha256:{head}")
    return ExitCode.OK
