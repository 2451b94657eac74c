"""import and refresh: adopt a live Zendesk account, and read it (issue 15).

The options that reach Zendesk are defined once here (``live_options``) and
stacked on ``refresh`` and ``plan``. Nothing here imports httpx: the client is
loaded by the pipeline when an account is read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from zplan.cli.options import cli, command, settings
from zplan.errors import ExitCode, UsageError

F = TypeVar("F", bound=Callable[..., Any])


def _age(ctx: click.Context, param: click.Parameter, value: str) -> float:
    from zplan.plan.observed import parse_age

    try:
        return parse_age(value)
    except (ValueError, IndexError):
        raise UsageError(
            f"--max-observation-age {value!r}: not an age", hint="e.g. 24h, 90m, 2d, 3600"
        ) from None


def live_options(function: F) -> F:
    """The options that say how to reach Zendesk (refresh, plan)."""
    options = [
        click.option(
            "--zendesk-url",
            "zendesk_url",
            metavar="URL",
            default=None,
            help="Base URL; {subdomain} is replaced (default https://{subdomain}.zendesk.com). "
            " [env: ZPLAN_ZENDESK_URL]",
        ),
        click.option(
            "--zendesk-credentials",
            "zendesk_credentials",
            metavar="FILE",
            default=None,
            type=click.Path(dir_okay=False),
            help="Private YAML file: subdomain -> email and api_token, or oauth_token. "
            " [env: ZPLAN_ZENDESK_CREDENTIALS]",
        ),
        click.option(
            "--zendesk-timeout",
            "zendesk_timeout",
            type=click.FloatRange(min=0.1, max=600),
            default=30.0,
            show_default=True,
            help="Seconds to wait for each answer from Zendesk.",
        ),
        click.option(
            "--read-plan",
            "read_plan",
            is_flag=True,
            help="Also read the plan name from an undocumented Zendesk endpoint (docs/zendesk.md).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def plan_live_options(function: F) -> F:
    """``plan``'s options about the live account."""
    options = [
        click.option(
            "--refresh", is_flag=True, help="Read the live accounts now (written nowhere)."
        ),
        click.option(
            "--allow-seat-loss",
            is_flag=True,
            help="Reducing seats below the agents holding them: a warning, not an error.",
        ),
        click.option(
            "--max-observation-age",
            "max_age",
            default="24h",
            show_default=True,
            callback=_age,
            help="An observation older than this is shown as stale.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return live_options(function)


def live_settings(refresh: bool = False, **given: Any) -> Any:
    """The pipeline's LiveOptions from the options above."""
    from zplan.pipeline.live import LiveOptions

    return LiveOptions(
        refresh=refresh,
        url=given.get("zendesk_url"),
        credentials=given.get("zendesk_credentials"),
        timeout=given.get("zendesk_timeout") or 30.0,
        read_plan=bool(given.get("read_plan")),
        allow_seat_loss=bool(given.get("allow_seat_loss")),
        max_age=given.get("max_age", 24 * 3600.0),
    )


@command(
    cli,
    "refresh",
    """
zplan refresh acme                                  # ZENDESK_EMAIL + ZENDESK_API_TOKEN
zplan refresh accounts/ --zendesk-credentials ~/.config/zplan/zendesk.yaml
zplan refresh                                       # every account on record
""",
)
@click.argument("targets", nargs=-1, metavar="[PATH|SUBDOMAIN]...")
@live_options
@click.pass_context
def refresh_command(ctx: click.Context, /, targets: tuple[str, ...], **given: Any) -> int:
    """Read the live accounts (read-only) and record what was seen beside their records."""
    from zplan.pipeline.live import refresh

    config = settings(ctx)
    with config.writer(needs_key=False) as writer:  # a write: the store's clock, no signature
        seen = refresh(
            targets, config._replace(clock=writer.clock), live_settings(**given), writer.store
        )
    for observation in seen:
        click.echo(
            f"{observation.subdomain}: {observation.seats_in_use} agents hold a paid seat "
            f"(observed {observation.observed_at})"
            + (f"; plan {observation.plan}" if observation.plan else "")
        )
    return ExitCode.OK


@command(
    cli,
    "import",
    """
zplan --actor owner@acme.example import accounts/acme.yaml --term-start 2026-06-15
zplan import accounts/acme.yaml --term-start 2026-06-15 --balance 120.00
zplan import accounts/acme.yaml --term-start 2026-06-15 --promo-uses 1
""",
)
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--term-start", metavar="DATE", help="First day of the current term (default today).")
@click.option("--balance", metavar="AMOUNT", default="0", help="Account credit shown in Zendesk.")
@click.option("--promo-uses", type=click.IntRange(min=0), help="Invoices the promotion discounted.")
@click.pass_context
def import_command(
    ctx: click.Context,
    paths: tuple[str, ...],
    term_start: str | None,
    balance: str,
    promo_uses: int | None,
) -> int:
    """Record subscriptions as they stand in Zendesk today, charging nothing."""
    from zplan.cli.plan import _actor
    from zplan.pipeline.live import import_files, import_terms

    config = settings(ctx)
    terms = import_terms(term_start, balance, promo_uses)
    actor = _actor(config)
    with config.writer() as writer:  # the store's clock, signed with the apply key
        done = import_files(paths, config._replace(clock=writer.clock), writer, actor, terms)
    for imported in done:
        click.echo(_imported_line(imported))
    return ExitCode.OK


def _imported_line(imported: Any) -> str:
    account = imported.account
    sub = account.subscription
    products = "; ".join(f"{p.product} {p.edition}, {p.agents} agents" for p in sub.now.products)
    return (
        f"Imported {account.subdomain} from {imported.path}: {products}; {sub.now.cycle.value}; "
        f"term {sub.term_start} to {sub.term_end}, renews on {sub.term_end}. Nothing was "
        "charged.\n  Check the renewal date against Admin Center > Account > Billing > "
        "Subscription."
    )
