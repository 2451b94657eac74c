"""The command line's shared parts: global options (defined once), the root group, help
with examples, settings from options and environment, the progress bar, plan rendering."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from zplan import __version__
from zplan.clock import Clock
from zplan.errors import UsageError
from zplan.pipeline.settings import Settings
from zplan.render import Style

F = TypeVar("F", bound=Callable[..., Any])

FORMATS_DIAG = click.Choice(["text", "json", "github"])
FORMATS_PLAN = click.Choice(["text", "json", "markdown", "github"])


# Global options ----------------------------------------------------------------

_GLOBALS = {
    "state": (
        "--state",
        "ZPLAN_STATE",
        "URL",
        "State store: a path or sqlite:///PATH (default: .zplan/state.db, looked for up to "
        "the top of the git work tree), or postgresql://…  [env: ZPLAN_STATE]",
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
        "The date to plan at (ISO date; default today, UTC). Writes use the real clock; "
        "only a sandbox store accepts it on a write.  [env: ZPLAN_NOW]",
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
    at = value("at")
    return Settings(value("state"), value("catalog"), Clock.from_setting(at), actor, color, at)


def check_actor(actor: str) -> None:
    """An actor is an e-mail address (what the store's owner and billing admins are)."""
    from zplan.load.rules import looks_like_email, odd_character

    if not looks_like_email(actor):
        raise UsageError(
            "--actor / ZPLAN_ACTOR / git user.email: not an e-mail address",
            hint="the actor is compared with the owner and billing admins on record, by e-mail",
        )
    odd = odd_character(actor)
    if odd:
        raise UsageError(
            f"--actor / ZPLAN_ACTOR / git user.email: the address could pass for another: {odd}",
            hint="write the address in one script, as the mail server knows it",
        )


class Group(click.Group):
    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if self.epilog:
            formatter.write("\n" + self.epilog + "\n")


# Which module defines each top-level command: a command's module is imported when it runs
# (and every one for --help), so a start-up loads only what the command needs.
COMMAND_MODULES = {
    "validate": "plan",
    "plan": "plan",
    "apply": "plan",
    "show": "plan",
    "admin": "admin",
    "catalog": "catalog",
    "forecast": "forecast",
    "export": "history",
    "history": "history",
    "confirm": "orders",
    "cancel-order": "orders",
    "order": "orders",
    "state": "state",
    "keygen": "state",
    "force-unlock": "state",
    "refresh": "zendesk",
    "import": "zendesk",
}


class Root(Group):
    """The root group: loads a command's module when the command is asked for."""

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(name)
        if module is not None and name not in self.commands:
            import importlib

            importlib.import_module(f"zplan.cli.{module}")
        return super().get_command(ctx, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        load_commands()
        return super().list_commands(ctx)


def load_commands() -> None:
    """Every command's module (for --help, and for tests that walk the commands)."""
    import importlib

    for module in sorted(set(COMMAND_MODULES.values())):
        importlib.import_module(f"zplan.cli.{module}")


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
    cls=Root,
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
        self.bar.update(done - self.bar.pos)  # callers report every file, or a run of them

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __enter__(self) -> StderrProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def policy_options(function: F) -> F:
    """--policy and --policy-data, for the commands that hold a plan against the rules."""
    function = click.option(
        "--policy-data",
        "policy_data",
        multiple=True,
        type=click.Path(dir_okay=False),
        envvar="ZPLAN_POLICY_DATA",
        metavar="FILE",
        help="A JSON or YAML data file for the Rego policies (the pull request's labels, say); "
        "repeatable.  [env: ZPLAN_POLICY_DATA]",
    )(function)
    return click.option(
        "--policy",
        "policy",
        multiple=True,
        type=click.Path(),
        envvar="ZPLAN_POLICY",
        metavar="PATH",
        help="Guardrails: a .rego file, a budgets.yaml, or a directory of them (and their data "
        "files); repeatable.  [env: ZPLAN_POLICY]",
    )(function)


def extras(policy: tuple[str, ...], data: tuple[str, ...], months: int | None = None) -> Any:
    """The guard (loaded only when policies are given) and the forecast months of a plan."""
    from zplan.pipeline.guardrails import Extras

    guard = None
    if policy or data:
        if not policy:
            raise UsageError("--policy-data needs --policy")
        from zplan.policy.guard import load_guard

        guard = load_guard(policy, data)
    return Extras(guard, months)


def policy_failed(document: dict[str, Any]) -> bool:
    """Whether the plan breaks a guardrail; says so on stderr (the plan itself is on stdout)."""
    policy = document.get("policy")
    denied = len(policy["deny"]) if policy else 0
    if denied:
        click.echo(
            f"Error: the plan breaks {denied} guardrail{'s' * (denied != 1)} (see Policy).",
            err=True,
        )
    return bool(denied)


def render_plan(document: dict[str, Any], fmt: str, color: bool) -> str:
    if fmt == "github":
        from zplan.render.policy import github

        return github(document)
    if fmt == "json":
        from zplan.apply.planfile import dumps

        return dumps(document)
    if fmt == "markdown":
        from zplan.render.markdown import render_markdown

        return render_markdown(document)
    from zplan.render.text import render_plan

    return render_plan(document, Style(color))


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (0600) whole, or leave nothing there and say why in one line.

    The text goes to a temporary file beside ``path``, renamed over it once on disk,
    so that a full disk or a missing directory never leaves half a file.
    """
    import errno
    import tempfile

    directory = path.parent if str(path.parent) else Path(".")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        hints = {
            errno.ENOENT: f"the directory {directory} does not exist: create it first",
            errno.ENOTDIR: f"{directory} is not a directory",
            errno.EACCES: f"you may not write in {directory}",
            errno.EPERM: f"you may not write in {directory}",
            errno.EROFS: f"{directory} is on a read-only file system",
            errno.ENOSPC: "the disk is full: free some space and run the command again",
            errno.EDQUOT: "your disk quota is used up: free some space and run it again",
            errno.EFBIG: "the file size limit (ulimit -f) is reached: raise it",
            errno.EISDIR: f"{path} is a directory: give a file name",
        }
        raise UsageError(
            f"cannot write {path}: {exc.strerror or exc}; nothing was written",
            hint=hints.get(exc.errno or 0),
        ) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
