"""state show, state migrate and force-unlock: inspect, move and unblock the store."""

from __future__ import annotations

import click

from zplan.cli.options import (
    Group,
    cli,
    command,
    settings,
)
from zplan.errors import ExitCode


@cli.group(
    "state",
    cls=Group,
    epilog="Examples:\n  zplan state show acme\n"
    "  zplan state show acme --serial 2\n"
    "  zplan state migrate --from .zplan/state.db --to postgresql://db/zplan",
)
def state_group() -> None:
    """Inspect or move the state store."""


@command(
    state_group,
    "show",
    """
zplan state show acme
zplan state show acme --serial 1
""",
)
@click.argument("subdomain")
@click.option(
    "--serial",
    type=click.IntRange(min=1),
    default=None,
    help="The version to show (default: the current one).",
)
@click.pass_context
def state_show_command(ctx: click.Context, subdomain: str, serial: int | None) -> int:
    """The account's subscription as it was at version N (default: now), as YAML."""
    from zplan.pipeline import workflow
    from zplan.render.history import state_yaml

    config = settings(ctx)
    with config.store(create=False) as store:
        account, note = workflow.account_at(store, subdomain, serial, config)
    click.echo(state_yaml(account, note), nl=False)
    return ExitCode.OK


@command(
    state_group,
    "migrate",
    """
zplan state migrate --from .zplan/state.db --to postgresql://ci@db.example/zplan
zplan state migrate --from sqlite:///old.db --to sqlite:///new.db
""",
)
@click.option("--from", "source", required=True, metavar="URL", help="The store to copy from.")
@click.option("--to", "target", required=True, metavar="URL", help="The store to copy to.")
@click.pass_context
def state_migrate_command(ctx: click.Context, source: str, target: str) -> int:
    """Copy every account with its whole history (and the signing secret) to another store."""
    from zplan.state.migrate import migrate

    report = migrate(source, target)
    for line in report:
        click.echo(line)
    return ExitCode.OK


@command(
    cli,
    "force-unlock",
    """
zplan force-unlock acme 6f1c2d3e-...   # the lock id from the "locked" message
""",
)
@click.argument("subdomain")
@click.argument("lock_id")
@click.pass_context
def force_unlock_command(ctx: click.Context, subdomain: str, lock_id: str) -> int:
    """Remove a lock left by a process that died."""
    with settings(ctx).store(create=False) as store:
        store.force_unlock(subdomain, lock_id)
    click.echo(f"Removed the lock {lock_id} on {subdomain}.")
    return ExitCode.OK
