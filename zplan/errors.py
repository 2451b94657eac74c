"""One error base, and the exit codes, in one place.

Every refusal zplan makes is a ``ZplanError`` (or a diagnostic in a report).
The command line catches them at one boundary (``zplan.cli.main``) and turns
them into a message and an exit code; nothing else in the package prints.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """The exit-code policy.

    0  success; with ``plan --detailed-exitcode``, success and no changes.
    1  any error: invalid input, refused change, stale plan, lock held, usage
       error, declined prompt. click's own usage errors (2) and aborts are
       mapped to 1 so that CI can trust 2.
    2  ``plan --detailed-exitcode`` only: success, and there are changes.
    130 interrupted (Ctrl-C).
    """

    OK = 0
    ERROR = 1
    CHANGES = 2
    INTERRUPTED = 130


class ZplanError(Exception):
    """An error the user can act on; its message says what and where."""

    exit_code = ExitCode.ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class UsageError(ZplanError):
    """The command line was used wrongly (a bad option value, a missing file)."""


class StateError(ZplanError):
    """The state store cannot be opened, read or written."""


class LockHeld(StateError):
    """Another process holds an account's lock."""

    def __init__(self, subdomain: str, holder: dict[str, str]) -> None:
        self.subdomain = subdomain
        self.holder = holder
        who = holder.get("who") or "unknown"
        details = ", ".join(
            f"{key}: {holder[key]}"
            for key in ("operation", "host", "pid", "created_at")
            if holder.get(key)
        )
        super().__init__(
            f"the state of {subdomain} is locked by {who} ({details}); lock id {holder.get('id')}",
            hint=(
                "wait for that run to finish, or pass --lock-timeout SECONDS; if its process "
                f"died, run: zplan force-unlock {subdomain} {holder.get('id')}"
            ),
        )


class PlanFileError(ZplanError):
    """A saved plan cannot be applied: unsigned, tampered, stale, or from another day."""


class RefusedError(ZplanError):
    """A change the account type or the actor's role does not allow."""
