"""What the ``zplan validate`` tests share: a valid file, a small price book, the case
table's row type, and helpers that write files and read diagnostics.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Result

# A valid subscription; the line numbers below refer to it.
BASE = """\
zplan: 1
account:
  subdomain: acme
  owner: owner@acme.example
billing:
  cycle: annual
  payment: card
agreements:
  master_subscription_agreement: accepted
  privacy_policy: accepted
products:
  suite:
    edition: professional
    agents: 25
    addons:
      copilot: 25
"""

CARD = "4111 1111 1111 1111"  # a test card number: passes the Luhn check

# A small price book with seat limits, an annual-only edition and a per-account add-on.
SMALL_CATALOG = """\
catalog: small-test
as_of: 2026-01-01
currencies: [USD]
products:
  desk:
    name: Desk
    editions:
      basic:
        name: Desk Basic
        price: {USD: {annual: "10.00"}}
        source: "a test"
        min_agents: 2
        max_agents: 5
        included_light_agents: 0
      pro:
        name: Desk Pro
        price: {USD: {annual: "20.00", monthly: "25.00"}}
        estimate: true
        min_agents: 1
        max_agents: 50
        included_light_agents: 10
addons:
  sandbox:
    name: Sandbox
    unit: account
    cycles: [annual, monthly]
    price: {USD: {annual: "100.00", monthly: "120.00"}}
    source: "a test"
    available_on: {desk: basic}
"""

SMALL = """\
zplan: 1
account: {subdomain: small, owner: owner@small.example}
billing: {cycle: annual, payment: card}
agreements: {master_subscription_agreement: accepted, privacy_policy: accepted}
products:
  desk:
    edition: basic
    agents: 3
    addons:
      sandbox: true
"""


def edit(old: str, new: str, text: str = BASE) -> str:
    """``text`` with its one occurrence of ``old`` replaced."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


def laughs() -> str:
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for name, previous in zip("bcde", "abcd", strict=True):
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 10) + "]")
    return "zplan: 1\n" + "\n".join(levels) + "\n"


@dataclass(frozen=True)
class Case:
    content: str | bytes
    code: str
    line: int
    column: int
    path: str
    says: str = ""  # in the message or the hint
    errors: int = 1  # how many errors the file has in all
    small_catalog: bool = False
    subprocess: bool = False


def case(id: str, *args: Any, **kwargs: Any) -> Any:
    return pytest.param(Case(*args, **kwargs), id=id)


def write(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return name


def diagnostics_of(result: Result) -> list[dict[str, Any]]:
    document = json.loads(result.out)
    found: list[dict[str, Any]] = document["diagnostics"]
    return found


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output
    assert "unexpected error" not in result.output
