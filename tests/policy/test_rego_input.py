"""What the Rego policies are given: each account's plan, cut to the fields they name."""

from __future__ import annotations

import json
from pathlib import Path

from zplan.policy.rego import RegoSet

from tests.conftest import EXAMPLES, TODAY, Zplan

POLICIES = EXAMPLES / "policies"


def _modules(*texts: str) -> list[tuple[str, str]]:
    return [(f"m{i}.rego", text) for i, text in enumerate(texts)]


def test_fields_a_policy_names_are_kept_and_others_dropped() -> None:
    rules = RegoSet(
        _modules(
            "package main\nimport rego.v1\ndeny contains a.subdomain if { some a in input.accounts; a.invoice.lines[_].kind == 'x' }\n"
        ),
        [],
    )
    account = {
        "subdomain": "acme",
        "invoice": {"lines": [{"kind": "proration", "amount": "1.00"}], "due_now": "1.00"},
        "desired": {"owner": "o@x.example"},
        "observed": {"seats": 3},  # a field added later by another feature, not named: dropped
    }
    assert rules.shape(account) == {
        "subdomain": "acme",
        "invoice": {"lines": [{"kind": "proration"}]},
    }


def test_rules_that_reach_fields_without_naming_them_get_the_whole_account() -> None:
    for text in (
        "package main\ndeny contains x if { walk(input, [p, x]); x == 1 }\n",
        "package main\nimport rego.v1\ndeny contains k if { some a in input.accounts; some k, v in a }\n",
        "package main\ndeny contains 1 if { object.keys(input.accounts[0]) }\n",
    ):
        account = {"subdomain": "acme", "invoice": {"due_now": "1.00"}}
        assert RegoSet(_modules(text), []).shape(account) == account, text


def test_the_example_policies_judge_the_cut_account_as_the_whole(
    zplan: Zplan, state: str, tmp_path: Path
) -> None:
    result = zplan(
        "--state", state, "--at", TODAY, "plan", str(EXAMPLES / "accounts"), "--format", "json"
    )
    document = json.loads(result.out)
    modules = [(str(p), p.read_text()) for p in sorted(POLICIES.glob("*.rego"))]
    cut = RegoSet(modules, [{"pr": {"labels": []}}])
    whole = RegoSet(modules, [{"pr": {"labels": []}}])
    whole.words = None
    header = {k: document[k] for k in ("format_version", "priced_on", "catalog")}
    found = 0
    for account in document["accounts"]:
        mine = cut.evaluate({**header, "accounts": [cut.shape(account)]})
        theirs = whole.evaluate({**header, "accounts": [whole.shape(account)]})
        assert mine == theirs, account["subdomain"]
        found += len(mine)
    assert found >= 2  # the Enterprise accounts are denied: the comparison means something
