"""What the security tests share: the people (owner, billing admin, stranger), the
secrets that must never be shown, a subscription file writer, an ``Account`` that
runs zplan against its own store, and a snapshot of that store's tables.

docs/security.md states the threat model and names, for each guarantee, the
test that shows it (in the ``test_security_*.py``, ``test_fuzz_*.py`` and
``test_model.py`` files of this folder).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from tests.adversarial.support import (
    checked,
)
from tests.conftest import Result, init_store

TODAY = "2026-11-27"
OWNER = "owner@acme.example"
ADMIN = "finance@acme.example"
STRANGER = "mallory@evil.example"
SECRET_REF = "pm_S3cretTok3nZ9876"  # only its last four characters, 9876, may be shown
SECRET_REF2 = "pm_An0therSecr3tQ5555"
SECRETS = ("S3cretTok3n", "An0therSecr3t")  # the parts that must never appear anywhere
CARD = "4111 1111 1111 1111"
CARD_DIGITS = "4111111111111111"
CARD_DASHED = "4111-1111-1111-1111"


def subscription(
    *,
    subdomain: str = "acme",
    owner: str = OWNER,
    admins: tuple[str, ...] = (ADMIN,),
    agents: int = 25,
    edition: str = "professional",
    cycle: str = "annual",
    payment: str = "card",
    payment_ref: str | None = SECRET_REF,
    promo: str | None = None,
    status: str = "active",
    extra_billing: str = "",
) -> str:
    lines = ["zplan: 1", "account:", f"  subdomain: {subdomain}", f"  owner: {owner}"]
    if admins:
        lines += ["  billing_admins:", *(f"    - {json.dumps(a)}" for a in admins)]
    lines += ["billing:", f"  cycle: {cycle}", f"  payment: {payment}"]
    if payment_ref is not None:
        lines.append(f"  payment_ref: {payment_ref}")
    if promo is not None:
        lines.append(f"  promo_code: {promo}")
    if extra_billing:
        lines.append(extra_billing)
    lines += [
        "agreements:",
        "  master_subscription_agreement: accepted",
        "  privacy_policy: accepted",
        "products:",
        "  suite:",
        f"    edition: {edition}",
        f"    agents: {agents}",
        f"status: {status}",
    ]
    return "\n".join(lines) + "\n"


class Account:
    """A store with acme bought by its owner on TODAY, and its file."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.state = init_store(str(directory / "store" / "state.db"))
        self.file = directory / "acme.yaml"
        self.write()
        bought = self.run("apply", str(self.file), "--auto-approve", actor=OWNER)
        assert bought.code == 0, bought.output

    def write(self, text: str | None = None, path: Path | None = None) -> Path:
        target = path or self.file
        target.write_text(text if text is not None else subscription(), encoding="utf-8")
        return target

    def run(
        self, *argv: str, actor: str | None = None, at: str = TODAY, codes: tuple[int, ...] = (0, 1)
    ) -> Result:
        options = ["--state", self.state, "--at", at]
        if actor is not None:
            options += ["--actor", actor]
        return checked([*options, *argv], codes=codes)

    def save(self, text: str, name: str = "plan.json", actor: str | None = None) -> Path:
        """The plan of ``text``, saved; the plan must be savable."""
        source = self.write(text, self.dir / f"{name}.yaml")
        out = self.dir / name
        result = self.run("plan", str(source), "--out", str(out), actor=actor)
        assert result.code == 0 and out.exists(), result.output
        return out

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        return snapshot(self.state)

    def verify(self) -> None:
        self.run("history", "acme", "--verify", codes=(0,))


def snapshot(state: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, as stored."""
    connection = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
    try:
        tables = [
            r[0]
            for r in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        return {
            t: sorted(connection.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)
            for t in tables
        }
    finally:
        connection.close()
