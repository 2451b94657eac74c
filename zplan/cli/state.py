"""state init, show, heads, trust-key, migrate; force-unlock; keygen: make, inspect, move,
unblock the store, and the keys that sign its record."""

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
    epilog="Examples:\n  zplan state init --sandbox\n  zplan state show acme\n"
    "  zplan state show acme --serial 2\n  zplan state heads --format json > heads.json\n"
    "  zplan state migrate --from .zplan/state.db --to postgresql://db/zplan",
)
def state_group() -> None:
    """Create, inspect or move the state store."""


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
    with config.store() as store:
        account, note = workflow.account_at(store, subdomain, serial, config)
    click.echo(state_yaml(account, note), nl=False)
    return ExitCode.OK


@command(
    state_group,
    "migrate",
    """
zplan --state postgresql://ci@db.example/zplan state init   # the target, made on purpose
zplan state migrate --from .zplan/state.db --to postgresql://ci@db.example/zplan
""",
)
@click.option("--from", "source", required=True, metavar="URL", help="The store to copy from.")
@click.option("--to", "target", required=True, metavar="URL", help="The store to copy to.")
@click.pass_context
def state_migrate_command(ctx: click.Context, source: str, target: str) -> int:
    """Move every account with its whole history to another store (made by state init).

    The target takes over the source's key registry; the source is marked as
    moved (it names the target) and refuses every write from then on.
    """
    from zplan.pipeline.stores import migrate

    report = migrate(settings(ctx), source, target)
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
    with settings(ctx).writer(needs_key=False) as writer:
        writer.store.force_unlock(subdomain, lock_id)
    click.echo(f"Removed the lock {lock_id} on {subdomain}.")
    return ExitCode.OK


@command(
    state_group,
    "init",
    """
zplan state init --sandbox                     # demos and tests: dates may be simulated (--at)
ZPLAN_SIGNING_KEY=apply.key zplan state init --operator-key operator.key.pub
zplan --state postgresql://zplan@db/zplan state init --trust-key apply.key.pub --operator-key ops.pub
""",
)
@click.option("--sandbox", is_flag=True, help="A sandbox store: writes accept --at (for ever).")
@click.option(
    "--trust-key", metavar="PUBLIC_KEY_FILE", help="The apply key (default: ZPLAN_SIGNING_KEY's)."
)
@click.option(
    "--operator-key", metavar="PUBLIC_KEY_FILE", help="The operator key (admin, trust-key)."
)
@click.option("--plan-key", metavar="PUBLIC_KEY_FILE", help="The key that signs saved plans.")
@click.pass_context
def state_init_command(
    ctx: click.Context,
    sandbox: bool,
    trust_key: str | None,
    operator_key: str | None,
    plan_key: str | None,
) -> int:
    """Create a state store, on purpose: an ordinary one (real clock) or a sandbox."""
    from zplan.pipeline.stores import init_store
    from zplan.render.text import state_line

    made = init_store(
        settings(ctx),
        sandbox=sandbox,
        trust_key=trust_key,
        operator_key=operator_key,
        plan_key=plan_key,
    )
    click.echo(f"Created the state store {state_line(made.url, made.sandbox)[7:]}.")
    for role, key_id, origin in made.keys:
        click.echo(f"  {role} key {key_id} ({origin})")
    for path in made.generated:
        click.echo(f"  sandbox key kept at {path} (a sandbox convenience; never for real money)")
    if made.ignored:
        click.echo(f"  added {made.ignored} to .gitignore")
    return ExitCode.OK


@command(
    state_group,
    "heads",
    """
zplan state heads
zplan state heads --format json > heads.json   # publish it; later: history ACCOUNT --verify --heads heads.json
""",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_context
def state_heads_command(ctx: click.Context, fmt: str) -> int:
    """Every account's audit head (newest entry's serial and hash), to publish outside the store."""
    import json

    from zplan.pipeline.stores import heads

    found = heads(settings(ctx))
    if fmt == "json":
        click.echo(json.dumps(found, indent=2))
    for head in found if fmt == "text" else ():
        click.echo(f"audit head: {head['subdomain']} #{head['serial']} {head['hash']}")
    return ExitCode.OK


@command(
    state_group,
    "trust-key",
    """
zplan --actor ops@example.com state trust-key ci-apply.key.pub --role apply
zplan --actor ops@example.com state trust-key new.pub --role apply --retire ed25519:0123456789abcdef
""",
)
@click.argument("public_key_file", type=click.Path(dir_okay=False))
@click.option("--role", type=click.Choice(["apply", "plan", "operator"]), required=True)
@click.option("--retire", multiple=True, metavar="KEY_ID", help="A key to retire (rotation).")
@click.pass_context
def state_trust_key_command(
    ctx: click.Context, public_key_file: str, role: str, retire: tuple[str, ...]
) -> int:
    """Register a public key in the store, signed by an operator key (ZPLAN_OPERATOR_KEY)."""
    from zplan.pipeline.stores import trust_key

    active = trust_key(settings(ctx), public_key_file, role, retire)
    click.echo("Keys now trusted:")
    for key_role, key_id in active:
        click.echo(f"  {key_role} {key_id}")
    return ExitCode.OK


@command(
    cli,
    "keygen",
    """
zplan keygen ~/.zplan/apply.key      # writes apply.key (0600) and apply.key.pub
""",
)
@click.argument("path", type=click.Path(dir_okay=False))
@click.pass_context
def keygen_command(ctx: click.Context, path: str) -> int:
    """Make an Ed25519 key pair: the private key at PATH (0600), the public key at PATH.pub."""
    from zplan.pipeline.stores import keygen

    signer = keygen(path)
    click.echo(f"Wrote {path} (private, 0600) and {path}.pub: key {signer.key.id}.")
    return ExitCode.OK
