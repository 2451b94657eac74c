"""confirm, cancel-order and order: close, withdraw and show a live account's change order."""

from __future__ import annotations

from typing import Any

import click

from zplan.cli.options import cli, command, settings
from zplan.cli.zendesk import live_options, live_settings
from zplan.errors import ExitCode

FORMATS_ORDER = click.Choice(["text", "json", "markdown"])


@command(
    cli,
    "confirm",
    """
zplan confirm acme --invoice-total 3213.45 --invoice-ref INV-1042 --unverified "no API token"
zplan confirm acme --invoice-total 3201.10 --on 2026-11-29 --unverified "checked by hand"
zplan confirm acme --invoice-total 3213.00 --accept-difference "Zendesk rounding" --unverified x
""",
)
@click.argument("subdomain")
@click.option("--invoice-total", metavar="AMOUNT", help="The invoice's total before tax.")
@click.option(
    "--on", "on", metavar="DATE", help="The day the owner made the change (default today)."
)
@click.option("--invoice-ref", metavar="REF", help="The invoice's number, recorded.")
@click.option("--accept-difference", metavar="REASON", help="Record a differing total, with why.")
@click.option("--unverified", metavar="REASON", help="Confirm without reading the live account.")
@live_options
@click.pass_context
def confirm_command(
    ctx: click.Context,
    /,
    subdomain: str,
    invoice_total: str | None,
    on: str | None,
    invoice_ref: str | None,
    accept_difference: str | None,
    unverified: str | None,
    **zendesk: Any,
) -> int:
    """Close the account's open change order once the owner made the change in Zendesk.

    With Zendesk credentials it reads the live account (seats in use; the plan name with
    --read-plan) before the record moves; without them it needs --unverified REASON.
    """
    from zplan.cli.plan import _actor
    from zplan.pipeline import workflow

    config = settings(ctx)
    given = {"invoice_total": invoice_total, "on": on, "invoice_ref": invoice_ref}
    done = workflow.confirm_order(
        subdomain,
        config,
        _actor(config),
        **given,
        accept_difference=accept_difference,
        unverified=unverified,
        live=live_settings(**zendesk),
    )
    click.echo(_confirmed_text(done), nl=False)
    return ExitCode.OK


@command(
    cli,
    "cancel-order",
    """
zplan cancel-order acme
zplan cancel-order acme --reason "the owner chose another plan"
""",
)
@click.argument("subdomain")
@click.option("--reason", metavar="TEXT", default=None, help="Why, for the audit log.")
@click.pass_context
def cancel_order_command(ctx: click.Context, subdomain: str, reason: str | None) -> int:
    """Withdraw the account's open change order (recorded; the subscription does not move)."""
    from zplan.cli.plan import _actor
    from zplan.pipeline import workflow

    config = settings(ctx)
    number, status, serial, head = workflow.cancel_order(subdomain, config, _actor(config), reason)
    click.echo(f"Change order #{number} of {subdomain} withdrawn (recorded as {status}).")
    if head:
        click.echo(f"audit head: {subdomain} #{serial} sha256:{head}")
    return ExitCode.OK


@command(
    cli,
    "order",
    """
zplan order acme                      # the open (or latest) change order and its checklist
zplan order acme --format markdown    # for a pull-request comment or a job summary
zplan order acme --number 7 --format json
zplan order --format markdown         # every open order in the store (the CI apply jobs)
""",
)
@click.argument("subdomain", required=False)
@click.option("--number", type=click.IntRange(min=1), default=None, help="Which order.")
@click.option("--format", "fmt", type=FORMATS_ORDER, default="text", show_default=True)
@click.pass_context
def order_command(ctx: click.Context, subdomain: str | None, number: int | None, fmt: str) -> int:
    """Show a change order and the owner's checklist (text, json or markdown)."""
    from zplan.pipeline import workflow
    from zplan.render import orders as render

    config = settings(ctx)
    with config.store() as store:
        rows = workflow.find_orders(store, subdomain, number)
    today = config.clock.today().isoformat()
    if fmt == "json" and subdomain is None:
        import json

        shown = [json.loads(render.order_json(r.body, r.status, today)) for r in rows]
        click.echo(json.dumps(shown, indent=2, sort_keys=True, ensure_ascii=False))
        return ExitCode.OK
    show = {"json": render.order_json, "markdown": render.order_markdown}.get(
        fmt, render.order_text
    )
    click.echo("\n".join(show(r.body, r.status, today) for r in rows), nl=False)
    return ExitCode.OK


def _confirmed_text(done: Any) -> str:
    from zplan.money import fmt

    lines = [
        f"Change order #{done.number} of {done.subdomain} confirmed: the record moved to "
        f"version {done.serial}.",
        f"  the order's changes cost {fmt(done.expected, done.currency)} on "
        f"{done.on.isoformat()} (the day the owner acted); recorded charge (the invoice): "
        f"{fmt(done.charged, done.currency)}"
        + (
            f" (difference {fmt(done.difference, done.currency, signed=True)}, accepted)"
            if done.difference
            else ""
        ),
    ]
    if done.verification["method"] == "unverified":
        lines.append(
            f"  not checked against the live account: {done.verification['reason']} (recorded)"
        )
    lines.extend(f"  {line}" for line in done.lines)
    if done.head:
        lines.append(f"audit head: {done.subdomain} #{done.serial} sha256:{done.head}")
    return "\n".join(lines) + "\n"
