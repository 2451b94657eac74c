"""validate, plan, apply and show: the pipeline from files to a recorded version."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from zplan.cli.options import (
    FORMATS_DIAG,
    FORMATS_PLAN,
    StderrProgress,
    check_actor,
    cli,
    command,
    extras,
    policy_failed,
    policy_options,
    render_plan,
    settings,
    write_private,
)
from zplan.cli.zendesk import live_settings, plan_live_options
from zplan.errors import ExitCode, UsageError
from zplan.pipeline.settings import Settings, Writer
from zplan.render import Style

# validate ------------------------------------------------------------------


def _diag_format(given: str | None) -> str:
    if given:
        return given
    if os.environ.get("GITHUB_ACTIONS") == "true" and not sys.stdout.isatty():
        return "github"
    return "text"


@command(
    cli,
    "validate",
    """
zplan validate accounts/acme.yaml
zplan validate accounts/ --format json
zplan --at 2027-01-15 validate accounts/   # promotions checked at that date
""",
)
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--format",
    "fmt",
    type=FORMATS_DIAG,
    default=None,
    help="text (default), json, or github (default under GitHub Actions).",
)
@click.pass_context
def validate_command(ctx: click.Context, paths: tuple[str, ...], fmt: str | None) -> int:
    """Check subscription files (and catalogs) against the schema and the catalog."""
    from zplan.pipeline import workflow
    from zplan.render import diagnostics as render

    with StderrProgress() as progress:
        scanned = workflow.validate(paths, settings(ctx), progress)
    found = scanned.diagnostics
    chosen = _diag_format(fmt)
    if chosen == "json":
        click.echo(render.as_json(found), nl=False)
    elif chosen == "github":
        click.echo(render.github(found), nl=False)
    else:
        click.echo(render.text(found, Style(settings(ctx).color)), nl=False)
        click.echo(render.verdict(found, scanned.files, scanned.notes), nl=False)
    return ExitCode.ERROR if any(d.is_error for d in found) else ExitCode.OK


# plan ----------------------------------------------------------------------


@command(
    cli,
    "plan",
    """
zplan plan accounts/acme.yaml
zplan plan accounts/ --format markdown > comment.md
zplan plan accounts/ --out plan.json           # a signed plan, for zplan apply plan.json
zplan plan accounts/ --detailed-exitcode        # exit 2 when there are changes (drift check)
zplan --at 2027-03-01 plan accounts/acme.yaml  # what-if pricing at another date
zplan plan accounts/ --policy policies/         # guardrails: Rego policies and budgets.yaml
zplan plan accounts/ --refresh --detailed-exitcode   # read the live accounts too (drift: 2)
""",
)
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Save the signed plan document to FILE (for zplan apply FILE).",
)
@click.option("--format", "fmt", type=FORMATS_PLAN, default="text", show_default=True)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there are no changes, 2 when there are (or the live account drifted), "
    "1 on error.",
)
@policy_options
@plan_live_options
@click.pass_context
def plan_command(
    ctx: click.Context,
    /,
    paths: tuple[str, ...],
    out: str | None,
    fmt: str,
    detailed_exitcode: bool,
    policy: tuple[str, ...],
    policy_data: tuple[str, ...],
    **live: Any,
) -> int:
    """Price the changes that would bring each account to its file."""
    from zplan.pipeline import workflow

    config = settings(ctx)
    more = extras(policy, policy_data, 12 if fmt == "markdown" else None)
    if out is None and fmt in ("text", "json", "markdown") and more.guard is None:
        return _plan_streamed(config, paths, fmt, detailed_exitcode, live, more)
    with config.store() as store, StderrProgress() as progress:
        document = workflow.make_plan(
            paths,
            config,
            store,
            save=out is not None,
            progress=progress,
            extras=more,
            live=live_settings(**live),
        )
    applyable = bool(document["applyable"])
    saved = out is not None and applyable
    if out is not None and applyable:
        from zplan.apply.planfile import dumps

        write_private(Path(out), dumps(document))
    click.echo(render_plan(document, fmt, config.color), nl=False)
    if saved and fmt == "text":
        click.echo(f"Saved the plan to {out}. To apply exactly this plan: zplan apply {out}")
    if not applyable:
        if out is not None:
            click.echo(f"Error: the plan has errors, so it was not saved to {out}.", err=True)
        return ExitCode.ERROR
    if policy_failed(document):
        return ExitCode.ERROR
    changes = any(
        account["changes"] or (account.get("observed") or {}).get("drift")
        for account in document["accounts"]
    )
    return ExitCode.CHANGES if detailed_exitcode and changes else ExitCode.OK


def _plan_streamed(
    config: Settings,
    paths: tuple[str, ...],
    fmt: str,
    detailed_exitcode: bool,
    live: Any,
    more: Any,
) -> int:
    """A plan to show (text, JSON or the markdown comment with its forecast): written as it
    is planned, its accounts never all in memory."""
    from zplan.cli.stream import JsonShape, MarkdownShape, Shape, TextShape, writer
    from zplan.pipeline import workflow

    shape: Shape = JsonShape()
    if fmt == "text":
        shape = TextShape(Style(config.color))
    elif fmt == "markdown":
        shape = MarkdownShape(more.months, config.clock.today())
    with config.store() as store, StderrProgress() as progress:
        streamed = workflow.stream_plan(
            paths,
            config,
            store,
            shape,
            progress=progress,
            live=live_settings(**live),
            extras=more if more.active else None,
        )
    try:
        shape.write(streamed, writer())
    finally:
        streamed.close()
    if not streamed.head["applyable"]:
        return ExitCode.ERROR
    return ExitCode.CHANGES if detailed_exitcode and streamed.changes else ExitCode.OK


# apply ---------------------------------------------------------------------


def _actor(config: Settings) -> str:
    if config.actor:
        return config.actor
    import subprocess

    try:
        done = subprocess.run(
            ["git", "config", "user.email"],  # noqa: S607 - git from PATH, as users run it
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        done = None
    email = done.stdout.strip() if done is not None and done.returncode == 0 else ""
    if not email:
        raise UsageError(
            "apply needs to know who is acting",
            hint="pass --actor EMAIL, set ZPLAN_ACTOR, or git config user.email",
        )
    check_actor(email)
    return email


@command(
    cli,
    "apply",
    """
zplan apply accounts/acme.yaml                       # plan, show, ask, apply
zplan apply accounts/ --auto-approve                 # in CI, without a prompt
zplan apply plan.json                                # a plan saved by zplan plan --out
zplan apply accounts/acme.yaml --allow-cancel        # a file with status: cancelled
zplan apply accounts/ --policy policies/             # refused if a guardrail denies it
zplan apply plan.json --policy policies/ --override-policy "CFO approved, ticket FIN-42"
""",
)
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--auto-approve", is_flag=True, help="Apply without asking (files only).")
@click.option("--allow-cancel", is_flag=True, help="Allow plans that cancel a subscription.")
@click.option(
    "--allow-seat-loss",
    is_flag=True,
    help="Allow reducing seats below the agents holding them (zplan refresh).",
)
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Seconds to wait for another apply's lock.",
)
@policy_options
@click.option(
    "--override-policy",
    "override",
    metavar="REASON",
    default=None,
    help="Apply although a guardrail denies the plan (the owner only); REASON goes in the "
    "audit log with the denied messages.",
)
@click.option(
    "--order-max-age",
    type=click.IntRange(min=1, max=60),
    default=7,
    show_default=True,
    help="Live accounts: days a change order stays confirmable (capped at the renewal).",
)
@click.pass_context
def apply_command(
    ctx: click.Context,
    paths: tuple[str, ...],
    auto_approve: bool,
    allow_cancel: bool,
    allow_seat_loss: bool,
    lock_timeout: float,
    policy: tuple[str, ...],
    policy_data: tuple[str, ...],
    override: str | None,
    order_max_age: int,
) -> int:
    """Apply the changes after confirmation, or apply a saved plan file."""
    from zplan.apply.planfile import read_plan_file
    from zplan.apply.session import Provenance

    config = settings(ctx)
    if override is not None and (not override.strip() or not policy):
        raise UsageError("--override-policy needs a reason, and --policy")
    guard = _Guard(extras(policy, policy_data), override)
    provenance = Provenance.from_env(_actor(config))
    saved = read_plan_file(Path(paths[0])) if len(paths) == 1 and Path(paths[0]).is_file() else None
    with config.writer() as writer:
        if saved is not None:
            return _apply_saved(
                writer, saved, config, provenance, allow_cancel, lock_timeout, guard, order_max_age
            )
        return _apply_files(
            writer, paths, config, provenance, auto_approve, allow_cancel, lock_timeout, guard,
            allow_seat_loss, order_max_age,
        )  # fmt: skip


class _Guard:
    """The guardrails an apply honours: evaluated on the plans, enforced with the override."""

    def __init__(self, extras: Any, override: str | None) -> None:
        self.extras = extras
        self.override = override

    def policy(self, config: Settings, plans: Sequence[Any]) -> dict[str, Any] | None:
        if self.extras.guard is None:
            return None
        from zplan.pipeline.guardrails import check_plans

        return check_plans(self.extras, config.catalog(), config.clock.today(), plans)

    def enforce(
        self, policy: dict[str, Any] | None, plans: Sequence[Any], actor: str
    ) -> dict[str, Any] | None:
        if policy is None:
            return None
        from zplan.pipeline.guardrails import enforce

        return enforce(policy, plans, actor, self.override)


def _apply_saved(
    writer: Writer,
    saved: dict[str, Any],
    config: Settings,
    provenance: Any,
    allow_cancel: bool,
    lock_timeout: float,
    guard: _Guard,
    order_max_age: int,
) -> int:
    from zplan.apply.session import apply_saved
    from zplan.pipeline.guardrails import check_saved_digest
    from zplan.render.text import state_line

    check_saved_digest(saved, guard.extras.guard)

    def guardrails(plans: Sequence[Any]) -> Any:
        return guard.enforce(guard.policy(config, plans), plans, provenance.actor)

    click.echo(state_line(writer.store.url, writer.trust.sandbox))
    outcome = apply_saved(
        writer.store,
        saved,
        config.catalog(),
        writer.clock,
        provenance,
        allow_cancel=allow_cancel,
        lock_timeout=lock_timeout,
        signer=writer.signer,
        trust=writer.trust,
        guardrails=guardrails if guard.extras.guard is not None else None,
        order_max_age=order_max_age,
    )
    _report(outcome, config, _saved_charges(saved))
    return ExitCode.OK


Charges = dict[str, tuple[Decimal, str]]  # subdomain -> (amount charged now, currency)


def _saved_charges(saved: dict[str, Any]) -> Charges:
    """What a saved plan charges, per account: its due-now and pending renewals."""
    charges = {}
    for account in saved.get("accounts") or []:
        totals = account.get("totals") or {}
        charged = Decimal(totals.get("due_now", "0")) + Decimal(totals.get("renewals_due", "0"))
        if account.get("live"):  # a live account's apply opens a change order: no charge now
            charged = Decimal(totals.get("renewals_due", "0"))
        charges[account["subdomain"]] = (charged, str(totals.get("currency", "USD")))
    return charges


def _plan_charges(plan: Any) -> Charges:
    """What the apply charges, per account that it writes (issue 14)."""
    from zplan.apply.session import charge

    return {account.subdomain: charge(account) for account in plan.accounts if account.writes}


def _charged(charges: Charges, subdomains: Sequence[str], most: int = 10) -> list[str]:
    from zplan.money import fmt

    parts = [
        f"{fmt(charges[s][0], charges[s][1])} to {s}"
        for s in subdomains
        if s in charges and charges[s][0]
    ]
    if len(parts) > most:
        parts = [*parts[:most], f"more to {len(parts) - most} other accounts"]
    return parts


def _charge_question(charges: Charges) -> str:
    """``Charge $4,968.00 to acme now (excluding tax)?``, or that nothing is charged."""
    parts = _charged(charges, list(charges))
    if not parts:
        return "Nothing is charged now.\n"
    return f"Charge {', '.join(parts)} now (excluding tax)?\n"


def _report(outcome: Any, config: Settings, charges: Charges | None = None) -> None:
    for subdomain, when in sorted(outcome.already.items()):
        click.echo(f"{subdomain}: this plan was already applied at {when}; nothing to do.")
    changed = [s for s in outcome.applied if s not in outcome.orders]
    if changed:
        names = ", ".join(changed[:10])
        if len(changed) > 10:
            names += f", and {len(changed) - 10} more"
        count = len(changed)
        charged = _charged(charges or {}, changed)
        said = f" Charged {', '.join(charged)} (excluding tax)." if charged else ""
        if charges is not None and not charged:
            said = " Nothing charged."
        click.echo(f"Apply complete: {count} account{'s' * (count != 1)} changed ({names}).{said}")
    if outcome.orders:
        count = len(outcome.orders)
        click.echo(
            f"Apply complete: {count} change order{'s' * (count != 1)} opened "
            f"({', '.join(sorted(outcome.orders))}); nothing charged until zplan confirm."
        )
    elif not changed and not outcome.already:
        click.echo("Apply complete: no changes.")
    if outcome.orders:
        from zplan.render.orders import order_text

        today = config.clock.today().isoformat()
        for subdomain, order in sorted(outcome.orders.items()):
            click.echo("")
            click.echo(
                f"{subdomain} is a live account: nothing was charged. Change order "
                f"#{order['number']} is open, waiting for the owner."
            )
            click.echo(order_text(order, "open", today), nl=False)
    for subdomain, (serial, digest) in sorted(outcome.heads.items()):
        click.echo(f"audit head: {subdomain} #{serial} sha256:{digest}")


def _apply_files(
    writer: Writer,
    paths: Sequence[str],
    config: Settings,
    provenance: Any,
    auto_approve: bool,
    allow_cancel: bool,
    lock_timeout: float,
    guard: _Guard,
    allow_seat_loss: bool = False,
    order_max_age: int = 7,
) -> int:
    from zplan.apply.session import Session
    from zplan.load.files import read
    from zplan.pipeline import workflow

    catalog = config.catalog()
    store, clock = writer.store, writer.clock
    progress = StderrProgress()
    if guard.extras.guard is None:  # no policy judges the plan whole: keep no account whole
        return _apply_lean(
            writer, paths, config, provenance, auto_approve, allow_cancel, lock_timeout,
            allow_seat_loss, order_max_age,
        )  # fmt: skip
    workspace = read(paths, catalog, clock.today(), progress)
    entries = workflow.entries_of(workspace)
    if not auto_approve and not sys.stdin.isatty():
        raise UsageError(
            "apply asks for confirmation, and stdin is not a terminal",
            hint="pass --auto-approve, or apply a saved plan file",
        )
    session = Session(store, catalog, clock, provenance, writer.signer, allow_seat_loss)
    session.order_max_age = order_max_age
    with session.locked([d.subdomain for d, _ in entries], lock_timeout):
        document = session.make_plan(
            entries,
            workspace.notes,
            workflow.file_problems(workspace),
            workflow.unmanaged(store, workspace, paths),
            progress,
        )
        progress.close()
        plan = session.plan
        assert plan is not None
        policy = guard.policy(config, plan.accounts)
        if policy is not None:
            document["policy"] = policy
        click.echo(render_plan(document, "text", config.color), nl=False)
        if not plan.applyable:
            return ExitCode.ERROR
        if not plan.writes:
            click.echo("Apply complete: no changes.")
            return ExitCode.OK
        cancelling = [
            a.subdomain for a in plan.accounts if any(c.kind.value == "cancel" for c in a.changes)
        ]
        if cancelling and not allow_cancel:
            raise UsageError(
                f"this plan cancels the subscription of {', '.join(cancelling)}",
                hint="cancelling needs --allow-cancel",
            )
        audit_extra = guard.enforce(policy, plan.accounts, provenance.actor)
        charges = _plan_charges(plan)
        if not auto_approve and not _confirm(cancelling, _charge_question(charges)):
            click.echo("Apply cancelled.")
            return ExitCode.ERROR
        outcome = session.commit(allow_cancel, audit_extra)
    _report(outcome, config, charges)
    return ExitCode.OK


def _apply_lean(
    writer: Writer,
    paths: Sequence[str],
    config: Settings,
    provenance: Any,
    auto_approve: bool,
    allow_cancel: bool,
    lock_timeout: float,
    allow_seat_loss: bool,
    order_max_age: int,
) -> int:
    """An apply from files that holds no account whole: each is shown as it is planned (the
    text waits in a temporary file), re-planned from its checked values when it is written.
    Its output, checks and writes are those of the whole-plan path (tests compare them)."""
    from pathlib import Path

    from zplan.apply.session import Session
    from zplan.cli.stream import TextShape
    from zplan.cli.stream import writer as output
    from zplan.load.files import read_lean
    from zplan.pipeline.bulk import Spill

    catalog = config.catalog()
    store, clock = writer.store, writer.clock
    progress = StderrProgress()
    lean_files = read_lean(paths, catalog, clock.today(), progress)
    if not auto_approve and not sys.stdin.isatty():
        raise UsageError(
            "apply asks for confirmation, and stdin is not a terminal",
            hint="pass --auto-approve, or apply a saved plan file",
        )
    unmanaged: list[str] = []
    if any(Path(p).is_dir() for p in paths):
        unmanaged = [s for s in store.subdomains() if s not in lean_files.described]
    session = Session(store, catalog, clock, provenance, writer.signer, allow_seat_loss)
    session.order_max_age = order_max_age
    shape, spill = TextShape(Style(config.color)), Spill()
    with session.locked([d.subdomain for d, _ in lean_files.entries], lock_timeout):
        lean = session.plan_lean(
            lean_files.entries,
            lean_files.problems,
            lean_files.notes,
            unmanaged,
            lambda account: spill.add(*shape.account(account)),
            progress,
        )
        progress.close()
        shown = spill.done(lean.head, bool(lean.writing))
        try:
            shape.write(shown, output())
        finally:
            shown.close()
        if not lean.head["applyable"]:
            return ExitCode.ERROR
        if not lean.writing:
            click.echo("Apply complete: no changes.")
            return ExitCode.OK
        if lean.cancelling and not allow_cancel:
            raise UsageError(
                f"this plan cancels the subscription of {', '.join(lean.cancelling)}",
                hint="cancelling needs --allow-cancel",
            )
        if not auto_approve and not _confirm(lean.cancelling, _charge_question(lean.charges)):
            click.echo("Apply cancelled.")
            return ExitCode.ERROR
        outcome = session.commit_lean(lean, allow_cancel)
    _report(outcome, config, lean.charges)
    return ExitCode.OK


def _confirm(cancelling: list[str], charge: str = "") -> bool:
    """Ask on the terminal; Ctrl-C propagates (exit 130), end of input declines."""
    click.echo(charge, nl=False)
    if cancelling:
        wanted = ",".join(cancelling)
        question = (
            f"This plan cancels the subscription of {', '.join(cancelling)}.\n"
            f"Type {wanted} to confirm and apply: "
        )
    else:
        wanted = "yes"
        question = "Do you want to apply these changes? Only 'yes' will be accepted: "
    click.echo(question, nl=False)
    answer = sys.stdin.readline()
    return answer.strip() == wanted


# show, export, history, state ----------------------------------------------


@command(
    cli,
    "show",
    """
zplan show plan.json
zplan show plan.json --format markdown
""",
)
@click.argument("planfile", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=FORMATS_PLAN, default="text", show_default=True)
@click.pass_context
def show_command(ctx: click.Context, planfile: str, fmt: str) -> int:
    """Render a saved plan."""
    from zplan.apply.planfile import read_plan_file

    document = read_plan_file(Path(planfile))
    if document is None:
        raise UsageError(f"{planfile} is not a saved plan (a JSON object with plan_id)")
    click.echo(render_plan(document, fmt, settings(ctx).color), nl=False)
    return ExitCode.OK
