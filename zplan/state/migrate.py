"""``zplan state migrate``: copy a whole store, history and signing secret, then verify."""

from __future__ import annotations

from zplan.errors import StateError
from zplan.state import open_store


def migrate(source_url: str, target_url: str) -> list[str]:
    """Copy every account with its whole history; verify each audit chain on the target."""
    report = []
    with open_store(source_url) as source, open_store(target_url) as target:
        if source.url == target.url:
            raise StateError("--from and --to name the same store")
        for subdomain in source.subdomains():
            before = source.verify(subdomain)
            if not before.ok:
                raise StateError(
                    f"{subdomain}: the source audit chain is broken ({before.problem}); "
                    "nothing was copied for it",
                    hint=f"zplan history {subdomain} --verify",
                )
        secret = source.signing_secret(create=False)
        target_secret = target.signing_secret(create=False)
        if secret is not None and target_secret is not None and secret != target_secret:
            raise StateError(
                "the target store already has a different plan-signing secret",
                hint="migrate into an empty store",
            )
        if secret is not None:
            target.set_signing_secret(secret)
        copied = 0
        for subdomain in source.subdomains():
            target.load_account(source.dump_account(subdomain))
            result = target.verify(subdomain)
            if not result.ok:
                raise StateError(
                    f"{subdomain}: the audit chain does not verify on the target ({result.problem})"
                )
            report.append(f"{subdomain}: {result.entries} versions copied, audit chain verified")
            copied += 1
        report.append(
            f"Migrated {copied} account{'s' * (copied != 1)} from {source.url} to "
            f"{target.url}{' with the plan-signing secret' if secret else ''}."
        )
    return report
