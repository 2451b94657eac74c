"""Whose tokens read which account: the environment for one account, a private file for many.

Every Zendesk account has its own API tokens, so a run over many accounts needs
a credentials file (``--zendesk-credentials`` / ``ZPLAN_ZENDESK_CREDENTIALS``):

    acme:
      email: admin@acme.example
      api_token: "…"          # basic auth EMAIL/token:TOKEN
    beta:
      oauth_token: "…"        # bearer

The file is refused when others may read it or when git tracks it. A single
account may use ``ZENDESK_EMAIL`` + ``ZENDESK_API_TOKEN`` or
``ZENDESK_OAUTH_TOKEN`` instead. No message ever carries a token.
"""

from __future__ import annotations

import base64
import os
import stat
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from zplan.errors import UsageError


class Credentials(NamedTuple):
    """How to authenticate to one account; ``repr`` never shows the secret."""

    subdomain: str
    kind: str  # api_token | oauth
    who: str  # the e-mail (api_token) or "OAuth token": what messages may name
    header: str  # the Authorization header's value

    def __repr__(self) -> str:
        return f"Credentials({self.subdomain!r}, {self.kind!r}, {self.who!r}, header=***)"


def api_token(subdomain: str, email: str, token: str) -> Credentials:
    raw = f"{email}/token:{token}".encode()
    return Credentials(subdomain, "api_token", email, "Basic " + base64.b64encode(raw).decode())


def oauth(subdomain: str, token: str) -> Credentials:
    return Credentials(subdomain, "oauth", "OAuth token", f"Bearer {token}")


_MISSING_HINT = (
    "set ZENDESK_EMAIL and ZENDESK_API_TOKEN (or ZENDESK_OAUTH_TOKEN) for one account, "
    "or give --zendesk-credentials FILE (ZPLAN_ZENDESK_CREDENTIALS) for many; see docs/zendesk.md"
)


def resolve(
    subdomains: Sequence[str], file: str | None, env: Mapping[str, str] | None = None
) -> dict[str, Credentials]:
    """Credentials for every account, or one clear error naming those without."""
    env = os.environ if env is None else env
    entries = read_file(Path(file)) if file else {}
    single = _from_env(env)
    found: dict[str, Credentials] = {}
    missing = []
    for subdomain in subdomains:
        entry = entries.get(subdomain)
        if entry is not None:
            found[subdomain] = _from_entry(subdomain, entry, file or "")
        elif single is not None and len(subdomains) == 1:
            found[subdomain] = single(subdomain)
        else:
            missing.append(subdomain)
    if missing:
        names = ", ".join(missing[:10]) + (
            f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        )
        where = f" in {file}" if file else ""
        if single is not None and not file:
            raise UsageError(
                f"no Zendesk credentials for {names}: ZENDESK_* variables serve one account, "
                f"and this run reads {len(subdomains)}",
                hint="give --zendesk-credentials FILE with a token per account",
            )
        raise UsageError(f"no Zendesk credentials for {names}{where}", hint=_MISSING_HINT)
    return found


def _from_env(env: Mapping[str, str]) -> Callable[[str], Credentials] | None:
    email, token, bearer = (
        env.get("ZENDESK_EMAIL"),
        env.get("ZENDESK_API_TOKEN"),
        env.get("ZENDESK_OAUTH_TOKEN"),
    )
    if bearer:
        return lambda subdomain: oauth(subdomain, bearer)
    if email and token:
        return lambda subdomain: api_token(subdomain, email, token)
    if email or token:
        raise UsageError(
            "ZENDESK_EMAIL and ZENDESK_API_TOKEN go together: one of them is not set",
            hint=_MISSING_HINT,
        )
    return None


def _from_entry(subdomain: str, entry: Mapping[str, str], file: str) -> Credentials:
    if entry.get("oauth_token"):
        return oauth(subdomain, entry["oauth_token"])
    if entry.get("email") and entry.get("api_token"):
        return api_token(subdomain, entry["email"], entry["api_token"])
    raise UsageError(
        f"{file}: {subdomain}: give email and api_token, or oauth_token",
        hint="see docs/zendesk.md for the credentials file",
    )


def read_file(path: Path) -> dict[str, dict[str, str]]:
    """The credentials file, after checking that it is private and not in git."""
    try:
        info = path.stat()
    except OSError as exc:
        raise UsageError(f"--zendesk-credentials {path}: {exc.strerror}") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise UsageError(
            f"--zendesk-credentials {path}: others may read it "
            f"(mode {stat.S_IMODE(info.st_mode):04o}); it holds API tokens",
            hint=f"chmod 600 {path}",
        )
    if _tracked_by_git(path):
        raise UsageError(
            f"--zendesk-credentials {path}: git tracks this file; API tokens must not be committed",
            hint=f"git rm --cached {path}, add it to .gitignore, and rotate the tokens",
        )
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, OSError):
        # The parser's message may quote a line of the file, token included: say where only.
        raise UsageError(
            f"--zendesk-credentials {path}: not a YAML mapping of subdomain to credentials",
            hint="see docs/zendesk.md for the credentials file",
        ) from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, dict) for k, v in data.items()
    ):
        raise UsageError(
            f"--zendesk-credentials {path}: not a mapping of subdomain to credentials",
            hint="see docs/zendesk.md for the credentials file",
        )
    return {k: {str(a): str(b) for a, b in v.items()} for k, v in data.items()}


def _tracked_by_git(path: Path) -> bool:
    try:
        done = subprocess.run(
            ["git", "ls-files", "--error-unmatch", "--", path.name],  # noqa: S607
            cwd=path.resolve().parent,
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False  # no git: nothing tracks it
    return done.returncode == 0
