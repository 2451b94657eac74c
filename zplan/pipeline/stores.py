"""The store's own commands: create it (``state init``), register keys (``state trust-key``),
print and check its audit heads, make keys (``keygen``).

Nothing here prints; each function returns what the command line shows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from zplan.errors import UsageError
from zplan.pipeline.settings import Settings, sandbox_key_path
from zplan.state.base import Store
from zplan.trust.keys import PublicKey, Role, Signer


class Created(NamedTuple):
    """What ``state init`` did."""

    url: str
    sandbox: bool
    keys: list[tuple[str, str, str]]  # (role, key id, where it came from)
    generated: list[str]  # key files a sandbox made for itself
    ignored: str | None  # the line added to .gitignore


def init_store(
    settings: Settings,
    *,
    sandbox: bool,
    trust_key: str | None,
    operator_key: str | None,
    plan_key: str | None,
) -> Created:
    """Create a store on purpose: ordinary (real clock) or sandbox (dates simulated), for ever."""
    from zplan.state.base import Mode
    from zplan.trust import keys

    signer = keys.from_env(keys.SIGNING_ENV)
    chosen: list[tuple[PublicKey, Role, str]] = []

    def add(role: Role, given: str | None, env: str, fallback: Signer | None = None) -> None:
        if given:
            chosen.append((keys.load_public(given, f"--{role.value}-key"), role, given))
            return
        from_env = fallback or keys.from_env(env)
        if from_env is not None:
            chosen.append((from_env.key, role, env))

    add(Role.APPLY, trust_key, keys.SIGNING_ENV, signer)
    add(Role.PLAN, plan_key, keys.PLAN_ENV)
    add(Role.OPERATOR, operator_key, keys.OPERATOR_ENV)
    made: list[tuple[Role, Signer]] = []
    for role in (Role.APPLY, Role.OPERATOR):
        if sandbox and not any(r is role for _, r, _ in chosen):
            made.append((role, keys.generate()))
            chosen.append((made[-1][1].key, role, "generated for this sandbox"))
    if not any(r is Role.APPLY for _, r, _ in chosen):
        raise UsageError(
            "an ordinary store needs the public key that will sign its audit entries",
            hint=f"set {keys.SIGNING_ENV}, or pass --trust-key PUBLIC_KEY_FILE "
            "(zplan keygen PATH makes a pair); nothing was created",
        )
    if signer is None and made:
        signer = made[0][1]
    if signer is not None and signer.key not in [k for k, r, _ in chosen if r is Role.APPLY]:
        signer = None  # the init entry is signed only by the apply key it registers
    with settings.store(Mode.INIT) as store:
        try:
            store.initialise(sandbox, [(k, r) for k, r, _ in chosen], signer)
        except BaseException:
            _discard(store)
            raise
        generated = [_write_sandbox_key(store, role, key) for role, key in made]
        ignored = _ignore(store)
        url = store.url
    return Created(url, sandbox, [(r.value, k.id, o) for k, r, o in chosen], generated, ignored)


def _discard(store: Store) -> None:
    """A SQLite file ``state init`` made, removed when the init did not complete."""
    path = getattr(store, "path", None)
    if path is None or store.url.startswith("postgres"):
        return
    store.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _write_sandbox_key(store: Store, role: Role, signer: Signer) -> str:
    from zplan.trust.keys import write_private

    path = sandbox_key_path(store, role)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private(path, signer)
    return str(path)


def _ignore(store: Store) -> str | None:
    path = getattr(store, "path", None)
    if path is None or store.url.startswith("postgres"):
        return None
    from zplan.state.files import ignore

    return ignore(Path(path))


def trust_key(
    settings: Settings, public_file: str, role: str, retire: Sequence[str]
) -> list[tuple[str, str]]:
    """Register a public key (and retire others), as an entry only an operator key may sign."""
    from zplan.trust.keys import load_public

    actor = require_actor(settings, "state trust-key")
    key = load_public(public_file, "state trust-key")
    with settings.writer(Role.OPERATOR) as writer:
        trust = writer.store.change_keys([(key, Role(role))], retire, actor, writer.signer)
    return [(r.role.value, r.key.id) for r in trust.keys if r.until is None]


def require_actor(settings: Settings, command: str) -> str:
    if not settings.actor:
        raise UsageError(
            f"{command} needs to know who is acting",
            hint="pass --actor EMAIL or set ZPLAN_ACTOR; the audit entry names them",
        )
    return settings.actor


def keygen(path: str) -> Signer:
    from zplan.trust.keys import write_new

    return write_new(Path(path))


# Audit heads -------------------------------------------------------------------


def heads(settings: Settings) -> list[dict[str, Any]]:
    """Every account's audit head, as ``state heads`` prints and ``--heads FILE`` reads."""
    with settings.store() as store:
        return [{"subdomain": s, "serial": n, "hash": f"sha256:{h}"} for s, n, h in store.heads()]


def parse_head(text: str) -> tuple[int, str]:
    """``SERIAL:sha256:HEX`` (as printed after a write) → (serial, hex)."""
    serial, _, digest = text.partition(":")
    digest = digest.removeprefix("sha256:")
    if (
        not serial.isdigit()
        or len(digest) != 64
        or any(c not in "0123456789abcdef" for c in digest)
    ):
        raise UsageError(
            f"--head {text!r}: not SERIAL:sha256:HEX",
            hint="copy it from the 'audit head:' line or from zplan state heads",
        )
    return int(serial), digest


def read_heads(path: str) -> dict[str, tuple[int, str]]:
    """The JSON that ``zplan state heads --format json`` printed."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return {str(h["subdomain"]): parse_head(f"{int(h['serial'])}:{h['hash']}") for h in data}
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise UsageError(
            f"--heads {path}: not the JSON of zplan state heads --format json ({exc})"
        ) from None


def head_problem(store: Store, subdomain: str, head: tuple[int, str]) -> str | None:
    """Why the account's chain does not reach the published ``head``, or None when it does."""
    serial, digest = head
    rows = {s: h for s, _, h in store.raw_audit(subdomain)}
    if not rows:
        return f"{subdomain} is gone from the store, though a head #{serial} was published for it"
    if serial not in rows:
        return (
            f"the chain of {subdomain} ends at #{max(rows)}, before the published head #{serial}: "
            "entries were removed (a truncation or a rollback)"
        )
    if rows[serial] != digest:
        return f"entry #{serial} of {subdomain} is not the published head: the chain was rewritten"
    return None


def published_head(
    subdomain: str, head: str | None, heads_file: str | None, verify: bool
) -> tuple[int, str] | None:
    """The head ``--head`` or ``--heads FILE`` gives for ``subdomain`` (they need --verify)."""
    if (head or heads_file) and not verify:
        raise UsageError("--head and --heads go with --verify")
    if head:
        return parse_head(head)
    if heads_file:
        found = read_heads(heads_file)
        if subdomain not in found:
            raise UsageError(f"--heads {heads_file}: no head for {subdomain}")
        return found[subdomain]
    return None


def verify_account(store: Store, subdomain: str, head: tuple[int, str] | None) -> Any:
    """``history --verify``: the chain and its signatures, then the published head if given."""
    result = store.verify(subdomain)
    if result.ok and head is not None:
        problem = head_problem(store, subdomain, head)
        if problem:
            return result._replace(ok=False, problem=problem, serial=head[0])
    return result


def migrate(settings: Settings, source: str, target: str) -> list[str]:
    """``state migrate``, a writing command: ``--at`` is refused unless the source is a sandbox."""
    from zplan.pipeline.settings import write_clock
    from zplan.state import open_store
    from zplan.state.base import Mode
    from zplan.state.migrate import migrate as move

    if settings.at:
        with open_store(source, mode=Mode.READ) as store:
            trust = store.trust()
            write_clock(settings.at, store.now(), bool(trust and trust.sandbox))
    return move(source, target)
