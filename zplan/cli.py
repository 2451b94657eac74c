"""The command line: thin click commands that parse, call the core, render, return a code.

Global options are accepted before or after the command; each is defined
once (``GLOBAL_OPTIONS``). Errors are caught at one boundary, ``main``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from zplan import __version__
from zplan.clock import Clock
from zplan.errors import ExitCode, UsageError, ZplanError
from zplan.render import Style
from zplan.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])

FORMATS_DIAG = click.Choice(["text", "json", "github"])
FORMATS_PLAN = click.Choice(["text", "json", "markdown"])


# Global options ----------------------------------------------------------------

_GLOBALS = {
    "state": (
        "--state",
        "ZPLAN_STATE",
        "URL",
        "State store: a path or sqlite:///PATH (default .zplan/state.db), or "
        "postgresql://…  [env: ZPLAN_STATE]",
    ),
    "catalog": (
        "--catalog",
        "ZPLAN_CATALOG",
        "FILE",
        "Price book (default: the catalog shipped with zplan).  [env: ZPLAN_CATALOG]",
    ),
    "at": (
        "--at",
        "ZPLAN_NOW",
        "DATE",
        "The date to plan and apply at (ISO date; default today, UTC).  [env: ZPLAN_NOW]",
    ),
    "actor": (
        "--actor",
        "ZPLAN_ACTOR",
        "EMAIL",
        "Who is acting; apply falls back to git config user.email.  [env: ZPLAN_ACTOR]",
    ),
}


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is not None and value is not False:
        ctx.find_root().meta[f"zplan.{param.name}"] = value
    return value


def global_options(function: F) -> F:
    """The global options, on the group and on every command (given either side)."""
    for name, (flag, _env, metavar, help_text) in reversed(_GLOBALS.items()):
        function = click.option(
            flag,
            name,
            metavar=metavar,
            help=help_text,
            expose_value=False,
            callback=_remember,
            is_eager=True,
        )(function)
    return click.option(
        "--no-color",
        "no_color",
        is_flag=True,
        default=False,
        expose_value=False,
        callback=_remember,
        is_eager=True,
        help="Plain output (also NO_COLOR).",
    )(function)


def settings(ctx: click.Context, *, stream: Any = None) -> Settings:
    meta = ctx.find_root().meta

    def value(name: str) -> str | None:
        given = meta.get(f"zplan.{name}")
        found = given if given is not None else (os.environ.get(_GLOBALS[name][1]) or None)
        if found is not None and ("\0" in found or len(found) > 4096):
            flag, env = _GLOBALS[name][:2]
            raise UsageError(f"{flag} / {env}: not a usable value (a NUL byte, or too long)")
        return found

    tty = (stream or sys.stdout).isatty()
    color = tty and not meta.get("zplan.no_color") and "NO_COLOR" not in os.environ
    actor = value("actor")
    if actor is not None:
        actor = actor.strip()
        check_actor(actor)
    return Settings(value("state"), value("catalog"), Clock.from_setting(value("at")), actor, color)


def check_actor(actor: str) -> None:
    """An actor is an e-mail address (what the store's owner and billing admins are)."""
    from zplan.rules import looks_like_email

    if not looks_like_email(actor):
        raise UsageError(
            "--actor / ZPLAN_ACTOR / git user.email: not an e-mail address",
            hint="the actor is compared with the owner and billing admins on record, by e-mail",
        )


class Group(click.Group):
    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if self.epilog:
            formatter.write("\n" + self.epilog + "\n")


class Command(click.Command):
    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if self.epilog:
            formatter.write("\n" + self.epilog + "\n")


def command(group: click.Group, name: str, examples: str, **kwargs: Any) -> Callable[[F], F]:
    def wrap(function: F) -> F:
        epilog = "Examples:\n" + "\n".join(f"  {line}" for line in examples.strip().splitlines())
        return group.command(name, cls=Command, epilog=epilog, **kwargs)(global_options(function))  # type: ignore[return-value]

    return wrap


@click.group(
    cls=Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Examples:\n  zplan validate accounts/\n  zplan plan accounts/acme.yaml\n"
    "  zplan apply accounts/acme.yaml\n  zplan plan accounts/ --out plan.json && "
    "zplan apply plan.json\n  zplan catalog compare suite",
)
@click.version_option(__version__, prog_name="zplan")
@global_options
def cli() -> None:
    """Subscription-as-code for Zendesk accounts.

    Write the subscription you want in a YAML file; zplan validates it, prices
    every difference from the subscription as it stands, and applies it after
    confirmation.
    """


class StderrProgress:
    """A progress bar on stderr, for runs over more than one file, when stderr is a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.stage: str | None = None
        self.bar: Any = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled or total <= 1:
            return
        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = click.progressbar(length=total, label=stage.capitalize(), file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __enter__(self) -> StderrProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
    from zplan import workflow
    from zplan.render import diagnostics as render

    with StderrProgress() as progress:
        workspace = workflow.validate(paths, settings(ctx), progress)
    found = workspace.all_diagnostics
    chosen = _diag_format(fmt)
    if chosen == "json":
        click.echo(render.as_json(found), nl=False)
    elif chosen == "github":
        click.echo(render.github(found), nl=False)
    else:
        style = Style(settings(ctx).color)
        click.echo(render.text(found, style), nl=False)
        errors = sum(1 for d in found if d.is_error)
        for note in workspace.notes:
            click.echo(f"note: {note}")
        files = len(workspace.files)
        verdict = "valid" if not errors else f"{errors} error{'s' * (errors != 1)}"
        click.echo(f"{files} file{'s' * (files != 1)} checked: {verdict}.")
    return ExitCode.ERROR if any(d.is_error for d in found) else ExitCode.OK


# plan ----------------------------------------------------------------------


def _render_plan(document: dict[str, Any], fmt: str, color: bool) -> str:
    if fmt == "json":
        from zplan.planfile import dumps

        return dumps(document)
    if fmt == "markdown":
        from zplan.render.markdown import render_markdown

        return render_markdown(document)
    from zplan.render.text import render_plan

    return render_plan(document, Style(color))


@command(
    cli,
    "plan",
    """
zplan plan accounts/acme.yaml
zplan plan accounts/ --format markdown > comment.md
zplan plan accounts/ --out plan.json           # a signed plan, for zplan apply plan.json
zplan plan accounts/ --detailed-exitcode        # exit 2 when there are changes (drift check)
zplan --at 2027-03-01 plan accounts/acme.yaml  # what-if pricing at another date
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
    help="Exit 0 when there are no changes, 2 when there are, 1 on error.",
)
@click.pass_context
def plan_command(
    ctx: click.Context, paths: tuple[str, ...], out: str | None, fmt: str, detailed_exitcode: bool
) -> int:
    """Price the changes that would bring each account to its file."""
    from zplan import workflow

    config = settings(ctx)
    with config.store(create=out is not None) as store, StderrProgress() as progress:
        document = workflow.make_plan(paths, config, store, save=out is not None, progress=progress)
    applyable = bool(document["applyable"])
    saved = out is not None and applyable
    if out is not None and applyable:
        from zplan.planfile import dumps

        _write_private(Path(out), dumps(document))
    click.echo(_render_plan(document, fmt, config.color), nl=False)
    if saved and fmt == "text":
        click.echo(f"Saved the plan to {out}. To apply exactly this plan: zplan apply {out}")
    if not applyable:
        if out is not None:
            click.echo(f"Error: the plan has errors, so it was not saved to {out}.", err=True)
        return ExitCode.ERROR
    changes = any(account["changes"] for account in document["accounts"])
    return ExitCode.CHANGES if detailed_exitcode and changes else ExitCode.OK


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


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
""",
)
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--auto-approve", is_flag=True, help="Apply without asking (files only).")
@click.option("--allow-cancel", is_flag=True, help="Allow plans that cancel a subscription.")
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Seconds to wait for another apply's lock.",
)
@click.pass_context
def apply_command(
    ctx: click.Context,
    paths: tuple[str, ...],
    auto_approve: bool,
    allow_cancel: bool,
    lock_timeout: float,
) -> int:
    """Apply the changes after confirmation, or apply a saved plan file."""
    from zplan.apply import Provenance
    from zplan.planfile import read_plan_file

    config = settings(ctx)
    provenance = Provenance.from_env(_actor(config))
    saved = read_plan_file(Path(paths[0])) if len(paths) == 1 and Path(paths[0]).is_file() else None
    with config.store() as store:
        if saved is not None:
            return _apply_saved(store, saved, config, provenance, allow_cancel, lock_timeout)
        return _apply_files(
            store, paths, config, provenance, auto_approve, allow_cancel, lock_timeout
        )


def _apply_saved(
    store: Any,
    saved: dict[str, Any],
    config: Settings,
    provenance: Any,
    allow_cancel: bool,
    lock_timeout: float,
) -> int:
    from zplan.apply import apply_saved

    outcome = apply_saved(
        store,
        saved,
        config.catalog(),
        config.clock,
        provenance,
        allow_cancel=allow_cancel,
        lock_timeout=lock_timeout,
    )
    _report(outcome)
    return ExitCode.OK


def _report(outcome: Any) -> None:
    for subdomain, when in sorted(outcome.already.items()):
        click.echo(f"{subdomain}: this plan was already applied at {when}; nothing to do.")
    if outcome.applied:
        names = ", ".join(outcome.applied[:10])
        if len(outcome.applied) > 10:
            names += f", and {len(outcome.applied) - 10} more"
        count = len(outcome.applied)
        click.echo(f"Apply complete: {count} account{'s' * (count != 1)} changed ({names}).")
    elif not outcome.already:
        click.echo("Apply complete: no changes.")


def _apply_files(
    store: Any,
    paths: Sequence[str],
    config: Settings,
    provenance: Any,
    auto_approve: bool,
    allow_cancel: bool,
    lock_timeout: float,
) -> int:
    from zplan import workflow
    from zplan.apply import Session
    from zplan.files import read

    catalog = config.catalog()
    progress = StderrProgress()
    workspace = read(paths, catalog, config.clock.today(), progress)
    entries = workflow.entries_of(workspace)
    if not auto_approve and not sys.stdin.isatty():
        raise UsageError(
            "apply asks for confirmation, and stdin is not a terminal",
            hint="pass --auto-approve, or apply a saved plan file",
        )
    session = Session(store, catalog, config.clock, provenance)
    with session.locked([d.subdomain for d, _ in entries], lock_timeout):
        document = session.make_plan(
            entries,
            workspace.notes,
            workflow.file_problems(workspace),
            workflow.unmanaged(store, workspace, paths),
            progress,
        )
        progress.close()
        click.echo(_render_plan(document, "text", config.color), nl=False)
        plan = session.plan
        assert plan is not None
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
        if not auto_approve and not _confirm(cancelling):
            click.echo("Apply cancelled.")
            return ExitCode.ERROR
        outcome = session.commit(allow_cancel)
    _report(outcome)
    return ExitCode.OK


def _confirm(cancelling: list[str]) -> bool:
    """Ask on the terminal; Ctrl-C propagates (exit 130), end of input declines."""
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
    from zplan.planfile import read_plan_file

    document = read_plan_file(Path(planfile))
    if document is None:
        raise UsageError(f"{planfile} is not a saved plan (a JSON object with plan_id)")
    click.echo(_render_plan(document, fmt, settings(ctx).color), nl=False)
    return ExitCode.OK


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
    from zplan import workflow
    from zplan.export import export_yaml

    config = settings(ctx)
    with config.store(create=False) as store:
        account = workflow.rolled(store, subdomain, config)
    catalog = config.catalog()
    per_account = {a.id for a in catalog.addons.values() if a.unit.value == "account"}
    text = export_yaml(account, per_account_addons=per_account)
    if output:
        Path(output).write_text(text, encoding="utf-8")
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
""",
)
@click.argument("subdomain")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--verify", is_flag=True, help="Recompute the audit chain; exit 1 if it breaks.")
@click.pass_context
def history_command(ctx: click.Context, subdomain: str, fmt: str, verify: bool) -> int:
    """Every version of an account: who, when, what changed, what it cost, from which commit."""
    from zplan.render.history import history_json, render_history

    config = settings(ctx)
    with config.store(create=False) as store:
        versions = store.versions(subdomain)
        if not versions:
            raise ZplanError(f"there is no account {subdomain} in the state store {store.url}")
        result = store.verify(subdomain) if verify else None
    if fmt == "json":
        click.echo(json.dumps(history_json(subdomain, versions, result), indent=2))
    else:
        click.echo(render_history(subdomain, versions, result), nl=False)
    return ExitCode.ERROR if result is not None and not result.ok else ExitCode.OK


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
    from zplan import workflow
    from zplan.render.history import state_yaml

    config = settings(ctx)
    note = None
    with config.store(create=False) as store:
        if serial is None:
            stored = store.account(subdomain)
            account = workflow.rolled(store, subdomain, config)
            if stored is not None and account.serial != stored.serial:
                pending = account.serial - stored.serial
                note = (
                    f"as of {config.clock.today().isoformat()}: {pending} renewal"
                    f"{'s' if pending != 1 else ''} due since version {stored.serial}, written "
                    "at the next apply (serial shows the version they will make)"
                )
        else:
            version = store.version(subdomain, serial)
            if version is None:
                raise ZplanError(f"{subdomain} has no version {serial}")
            account = version.account
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
    from zplan.migrate import migrate

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
    from zplan import workflow

    config = settings(ctx)
    with config.store() as store:
        account = workflow.admin_set_type(store, subdomain, account_type, config)
    click.echo(f"{subdomain} is now {account.type.value} (serial {account.serial}).")
    return ExitCode.OK


# catalog -------------------------------------------------------------------


@cli.group(
    "catalog",
    cls=Group,
    invoke_without_command=True,
    epilog="Examples:\n  zplan catalog\n  zplan catalog --format json\n"
    "  zplan catalog compare suite\n  zplan --catalog acme.yaml catalog",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@global_options
@click.pass_context
def catalog_group(ctx: click.Context, fmt: str) -> int | None:
    """The price book: products, editions, add-ons and promotions."""
    if ctx.invoked_subcommand is not None:
        return None
    catalog = settings(ctx).catalog()
    if fmt == "json":
        click.echo(json.dumps(catalog.to_json(), indent=2, ensure_ascii=False))
    else:
        from zplan.render.catalog import render_catalog

        click.echo(render_catalog(catalog), nl=False)
    return ExitCode.OK


@command(
    catalog_group,
    "compare",
    """
zplan catalog compare suite
zplan catalog compare support --currency EUR
""",
)
@click.argument("product")
@click.option("--currency", default=None, help="Currency (default: the catalog's first).")
@click.pass_context
def catalog_compare_command(ctx: click.Context, product: str, currency: str | None) -> int:
    """A product's editions side by side: prices, annual saving, limits, features."""
    from zplan.render.catalog import render_compare

    catalog = settings(ctx).catalog()
    click.echo(render_compare(catalog, product, currency), nl=False)
    return ExitCode.OK


# The boundary ------------------------------------------------------------------


def _crash_log(exc: BaseException) -> str:
    import tempfile
    import traceback

    fd, path = tempfile.mkstemp(prefix="zplan-crash-", suffix=".log")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(f"zplan {__version__}, Python {sys.version}\n")
        handle.write(f"argv: {_scrub(sys.argv)}\n\n")
        handle.write("".join(traceback.format_exception(exc)))
    return path


def _scrub(argv: Sequence[str]) -> list[str]:
    return [a if len(a) < 200 else a[:200] + "…" for a in argv]


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code (the one place errors are turned into codes)."""
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None, prog_name="zplan", standalone_mode=False
        )
    except ZplanError as exc:
        click.echo(f"Error: {exc}", err=True)
        return int(exc.exit_code)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:  # usage errors: exit 1, so that CI can trust 2
        exc.show()
        return int(ExitCode.ERROR)
    except click.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):  # click turns Ctrl-C into Abort
            click.echo("Interrupted.", err=True)
            return int(ExitCode.INTERRUPTED)
        click.echo("Aborted.", err=True)
        return int(ExitCode.ERROR)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return int(ExitCode.ERROR)
    except Exception as exc:
        path = _crash_log(exc)
        click.echo(
            f"zplan hit an unexpected error ({type(exc).__name__}); please report it as a "
            f"bug with the details in {path}",
            err=True,
        )
        return int(ExitCode.ERROR)
    return int(result) if isinstance(result, int) else int(ExitCode.OK)


def main() -> None:
    code = run()
    sys.stdout.flush()
    sys.exit(code)


__all__ = ["cli", "main", "run"]
