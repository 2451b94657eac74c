"""export and history: what the store holds about an account, and its audit trail."""

from __future__ import annotations

import json
from pathlib import Path

import click

from zplan.cli.options import (
    cli,
    command,
    settings,
    write_private,
)
from zplan.errors import ExitCode, ZplanError


@command(
    cli,
    "export",
    """
zplan export acme                     # print the subscription of acme as a file
zplan export acme -o accounts/acme.yaml
""",
)
@click.argument("subdomain")
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write to FILE instead of standard output.",
)
@click.pass_context
def export_command(ctx: click.Context, subdomain: str, output: str | None) -> int:
    """The current subscription as a subscription file (adopt an account, fix drift)."""
    from zplan.pipeline import workflow
    from zplan.render.export import export_yaml

    config = settings(ctx)
    with config.store() as store:
        account = workflow.rolled(store, subdomain, config)
    catalog = config.catalog()
    per_account = {a.id for a in catalog.addons.values() if a.unit.value == "account"}
    text = export_yaml(account, per_account_addons=per_account)
    if output:
        from zplan.redact import scrub

        write_private(Path(output), scrub(text))
        click.echo(f"Wrote {output}.", err=True)
    else:
        click.echo(text, nl=False)
    return ExitCode.OK


@command(
    cli,
    "history",
    """
zplan history acme
zplan history acme --format json
zplan history acme --verify           # exit 1 if the audit chain was tampered with
zplan history acme --verify --head 7:sha256:5f0c…   # and reaches the head published after #7
zplan history acme --verify --heads heads.json      # the JSON of zplan state heads
""",
)
@click.argument("subdomain")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--verify", is_flag=True, help="Recompute the audit chain; exit 1 if it breaks.")
@click.option(
    "--head", metavar="SERIAL:HASH", help="With --verify: the chain must reach this head."
)
@click.option(
    "--heads", "heads_file", metavar="FILE", help="With --verify: heads from state heads."
)
@click.pass_context
def history_command(
    ctx: click.Context,
    subdomain: str,
    fmt: str,
    verify: bool,
    head: str | None,
    heads_file: str | None,
) -> int:
    """Every version of an account: who, when, what changed, what it cost, from which commit."""
    from zplan.pipeline import stores
    from zplan.render.history import history_json, render_history

    config = settings(ctx)
    published = stores.published_head(subdomain, head, heads_file, verify)
    with config.store() as store:
        versions = store.versions(subdomain)
        if not versions:
            raise ZplanError(f"there is no account {subdomain} in the state store {store.url}")
        result = stores.verify_account(store, subdomain, published) if verify else None
        trust = store.trust(signatures=verify)
    if fmt == "json":
        data = history_json(subdomain, versions, result)
        data["sandbox"] = bool(trust is not None and trust.sandbox)
        click.echo(json.dumps(data, indent=2))
    else:
        sandbox = trust is not None and trust.sandbox
        click.echo(render_history(subdomain, versions, result, bool(sandbox)), nl=False)
    return ExitCode.ERROR if result is not None and not result.ok else ExitCode.OK
