"""The command line: thin click commands that parse, call the core, render, return a code.

One module per command group (``plan``: validate, plan, apply, show;
``history``: history, export; ``state``; ``admin``; ``catalog``; ``zendesk``:
import, refresh); the global
options, the root group and shared helpers in ``options``. Errors are caught
at one boundary, ``run`` below. Only this package imports click and prints.

May import every stage; no stage ever imports it (it is never imported from below).
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import click

from zplan import __version__
from zplan.cli.options import cli  # each command's module is loaded when it runs (Root)
from zplan.errors import ExitCode, ZplanError
from zplan.redact import scrub

# The boundary ------------------------------------------------------------------


class _Scrubbed(io.TextIOBase):
    """A text stream that shows nothing it must not: every write goes through ``scrub``.

    Card numbers are masked, passwords in URLs hidden, invisible characters
    escaped, whatever printed them (zplan, click's usage errors, a renderer).
    Text is held until a line ends or the stream is flushed (click flushes after
    every echo), so a number written in two pieces is still seen whole.
    """

    def __init__(self, inner: Any) -> None:
        super().__init__()
        self.inner = inner
        self.pending = ""

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self.inner, "encoding", None) or "utf-8")

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.inner, "errors", None)

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return bool(self.inner.isatty())

    def fileno(self) -> int:
        return int(self.inner.fileno())

    def write(self, text: str) -> int:
        self.pending += text
        if "\n" in text:
            done, _, self.pending = self.pending.rpartition("\n")
            self.inner.write(scrub(done + "\n"))
        return len(text)

    def write_whole(self, text: str) -> None:
        """Write ``text`` now, scrubbed as one piece: it must not cut a secret in two (a plan
        written a fragment at a time; JSON is one line that ``write`` would hold whole)."""
        text, self.pending = self.pending + text, ""
        self.inner.write(scrub(text))

    def flush(self) -> None:
        if self.pending:
            text, self.pending = self.pending, ""
            self.inner.write(scrub(text))
        self.inner.flush()


@contextlib.contextmanager
def _scrubbed_output() -> Iterator[None]:
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Scrubbed(sys.stdout), _Scrubbed(sys.stderr)
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        sys.stdout, sys.stderr = saved


def _crash_log(exc: BaseException) -> str:
    import tempfile
    import traceback

    fd, path = tempfile.mkstemp(prefix="zplan-crash-", suffix=".log")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(f"zplan {__version__}, Python {sys.version}\n")
        handle.write(f"argv: {_scrub(sys.argv)}\n")
        for name in sorted(os.environ):
            if name.startswith("ZPLAN_") and name != "ZPLAN_TEST_GUARD":
                handle.write(f"{name}={_env_value(name)}\n")
        handle.write("\n")
        handle.write(scrub("".join(traceback.format_exception(exc))))
    return path


_SECRET_NAMES = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL")


def _env_value(name: str) -> str:
    """An environment value for the crash log: hidden whole when its name says it is a
    secret (a Zendesk token, a signing key), scrubbed like argv otherwise."""
    if any(part in name.upper() for part in _SECRET_NAMES):
        return "***"
    return _scrub([os.environ[name]])[0]


def _scrub(argv: Sequence[str]) -> list[str]:
    """Arguments as the crash log shows them: no secret, no card number, not too long."""
    shown = [scrub(a) for a in argv]
    return [a if len(a) < 200 else a[:200] + "…" for a in shown]


# Failures of the machine, not of zplan: one line, what and where.
_ENVIRONMENT = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EFBIG: "the file size limit (ulimit -f) is reached",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EIO: "an input/output error",
}


def _environment_error(exc: OSError) -> str | None:
    reason = _ENVIRONMENT.get(exc.errno or 0)
    if reason is None:
        return None
    where = f" ({exc.filename})" if exc.filename else ""
    return f"Error: {reason}{where}: nothing more was written\n  hint: fix that and run the command again"


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code (the one place errors are turned into codes)."""
    with _scrubbed_output():
        return _run(argv)


def _run(argv: Sequence[str] | None) -> int:
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
    except OSError as exc:
        line = _environment_error(exc)
        if line is None:
            return _unexpected(exc)
        click.echo(line, err=True)
        return int(ExitCode.ERROR)
    except Exception as exc:
        return _unexpected(exc)
    return int(result) if isinstance(result, int) else int(ExitCode.OK)


def _unexpected(exc: Exception) -> int:
    path = _crash_log(exc)
    click.echo(
        f"zplan hit an unexpected error ({type(exc).__name__}); please report it as a "
        f"bug with the details in {path}",
        err=True,
    )
    return int(ExitCode.ERROR)


def main() -> None:
    code = run()
    sys.stdout.flush()
    sys.exit(code)


__all__ = ["cli", "main", "run"]
