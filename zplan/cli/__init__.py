"""The command line: thin click commands that parse, call the core, render, return a code.

One module per command group (``plan``: validate, plan, apply, show;
``history``: history, export; ``state``; ``admin``; ``catalog``; ``zendesk``:
import, refresh); the global
options, the root group and shared helpers in ``options``. Errors are caught
at one boundary, ``run`` below. Only this package imports click and prints.

May import every stage; no stage ever imports it (it is never imported from below).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click

from zplan import __version__
from zplan.cli import (  # noqa: F401 - registers the commands
    admin,
    catalog,
    forecast,
    history,
    orders,
    plan,
    state,
    zendesk,
)
from zplan.cli.options import cli
from zplan.errors import ExitCode, ZplanError

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
