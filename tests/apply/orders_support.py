"""Live accounts and change orders in tests: subscription files, and a store with a live account.

Every store is a real SQLite file; zplan runs in-process through the same boundary as
the console script. Dates are explicit: the account is bought on ``BOUGHT`` (a sandbox
record), marked live, and changed on ``TODAY``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.conftest import TODAY, Result, init_store, invoke

BOUGHT = "2026-11-01"
OWNER = "owner@acme.example"
ADMIN = "finance@acme.example"
STRANGER = "someone@else.example"


def subscription(
    path: Path,
    *,
    products: Mapping[str, Mapping[str, Any]] | None = None,
    cycle: str = "annual",
    status: str = "active",
    admins: Sequence[str] = (ADMIN,),
    payment_ref: str = "pm_1QxY4242",
    promo: str | None = None,
) -> Path:
    """Write acme's subscription file (Suite Professional, 10 agents, Copilot on 5 unless told)."""
    products = products or {
        "suite": {"edition": "professional", "agents": 10, "addons": {"copilot": 5}}
    }
    lines = ["zplan: 1", "account:", "  subdomain: acme", f"  owner: {OWNER}"]
    if admins:
        lines += ["  billing_admins:", *(f"    - {a}" for a in admins)]
    lines += [
        "  currency: USD",
        "billing:",
        f"  cycle: {cycle}",
        "  payment: card",
        f"  payment_ref: {payment_ref}",
    ]
    if promo:
        lines.append(f"  promo_code: {promo}")
    lines += [
        "agreements:",
        "  master_subscription_agreement: accepted",
        "  privacy_policy: accepted",
        "products:",
    ]
    for product, line in products.items():
        lines += [
            f"  {product}:",
            f"    edition: {line['edition']}",
            f"    agents: {line['agents']}",
        ]
        if line.get("addons"):
            lines.append("    addons:")
            lines += [f"      {a}: {q}" for a, q in line["addons"].items()]
    lines.append(f"status: {status}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Live:
    """zplan against one store, as the owner unless told, at TODAY unless told."""

    def __init__(self, state: str, file: Path, *, init: bool = True) -> None:
        """``init``: make the store (a sandbox: the tests' dates are simulated)."""
        self.state = init_store(state) if init and not Path(state).exists() else state
        self.file = file

    def __call__(
        self,
        *args: str,
        at: str | None = TODAY,
        actor: str | None = OWNER,
        input: str | None = None,
    ) -> Result:
        argv = ["--state", self.state]
        if at is not None:
            argv += ["--at", at]
        if actor is not None:
            argv += ["--actor", actor]
        return invoke([*argv, *args], input=input)

    def ok(self, *args: str, **kwargs: Any) -> Result:
        result = self(*args, **kwargs)
        assert result.code == 0, result.output
        return result

    def apply(self, at: str = TODAY, *extra: str, actor: str = OWNER) -> Result:
        return self("apply", "--auto-approve", *extra, str(self.file), at=at, actor=actor)

    def plan_json(self, at: str = TODAY) -> dict[str, Any]:
        result = self.ok("plan", "--format", "json", str(self.file), at=at)
        return dict(json.loads(result.out))

    def order(self, at: str = TODAY, *extra: str) -> dict[str, Any]:
        result = self.ok("order", "acme", "--format", "json", *extra, at=at)
        return dict(json.loads(result.out))

    def history(self) -> dict[str, Any]:
        return dict(json.loads(self.ok("history", "acme", "--format", "json", "--verify").out))

    def state_show(self) -> str:
        return self.ok("state", "show", "acme", at=None).out


def live_account(tmp_path: Path, **file: Any) -> Live:
    """acme bought on BOUGHT as a sandbox record, then marked live; its file rewritten by the test."""
    path = subscription(tmp_path / "acme.yaml", **file)
    live = Live(str(tmp_path / "state" / "state.db"), path)
    live.ok("apply", "--auto-approve", str(path), at=BOUGHT)
    live.ok("admin", "account", "acme", "--live", at=BOUGHT)
    return live
