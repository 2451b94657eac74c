"""``zplan state migrate``: move a whole store's accounts, history and key registry, then verify.

The target must be a store made by ``state init`` (of the same kind: sandbox or
ordinary), still empty; it takes over the source's key registry, so the
moved entries verify there with the same public keys. The source is marked as
moved before anything is copied, and refuses every write from then on: a
saved plan applies to at most one of the two.
"""

from __future__ import annotations

from zplan.errors import StateError
from zplan.state import open_store
from zplan.state.base import Mode, missing_store


def migrate(source_url: str, target_url: str) -> list[str]:
    """Move every account with its whole history; verify each audit chain on the target."""
    report = []
    with (
        open_store(source_url, mode=Mode.WRITE) as source,
        open_store(target_url, mode=Mode.WRITE) as target,
    ):
        if source.url == target.url:
            raise StateError("--from and --to name the same store")
        trust = source.trust()
        if trust is None:
            raise missing_store(source.url)
        moved = source.moved_to()
        if moved:
            raise StateError(f"{source.url} was already moved to {moved}")
        for subdomain in source.subdomains():
            before = source.verify(subdomain)
            if not before.ok:
                raise StateError(
                    f"{subdomain}: the source audit chain is broken ({before.problem}); "
                    "nothing was moved",
                    hint=f"zplan history {subdomain} --verify",
                )
        target.adopt(source.dump_trust(), trust)
        source.mark_moved(target.url)
        copied = 0
        for subdomain in source.subdomains():
            target.load_account(source.dump_account(subdomain))
            result = target.verify(subdomain)
            if not result.ok:
                raise StateError(
                    f"{subdomain}: the audit chain does not verify on the target ({result.problem})"
                )
            report.append(f"{subdomain}: {result.entries} versions moved, audit chain verified")
            copied += 1
        report.append(
            f"Moved {copied} account{'s' * (copied != 1)} from {source.url} to {target.url}, "
            "with the key registry. The source now refuses every write."
        )
    return report
