"""Security: who may apply. Strangers, billing admins and actors missing are refused
what only the owner (or a billing admin) may do, at plan and again at apply.
"""

from __future__ import annotations

import json

import pytest

from tests.adversarial.security_support import (
    ADMIN,
    OWNER,
    SECRET_REF2,
    STRANGER,
    Account,
    subscription,
)

# Who may apply -------------------------------------------------------------------

STRANGERS = [
    STRANGER,
    "MALLORY@EVIL.EXAMPLE",
    " mallory@evil.example ",
    "owner@acme.example.evil.example",
    "owner@acme.exampl",
]


@pytest.mark.parametrize("stranger", STRANGERS)
@pytest.mark.parametrize("adds_self", [False, True], ids=["as-is", "adds-self-to-billing-admins"])
@pytest.mark.parametrize("way", ["file", "saved-plan"])
def test_a_stranger_cannot_apply(acme: Account, stranger: str, adds_self: bool, way: str) -> None:
    """Roles come from the stored account, never from the file being applied."""
    admins = (ADMIN, stranger.strip()) if adds_self else (ADMIN,)
    text = subscription(agents=40, admins=admins)
    if way == "file":
        acme.write(text)
        before = acme.snapshot()
        result = acme.run("apply", str(acme.file), "--auto-approve", actor=stranger)
    else:
        plan_path = acme.save(text)  # saved with no actor: anyone may plan
        before = acme.snapshot()
        result = acme.run("apply", str(plan_path), actor=stranger)
    assert result.code == 1, result.output
    assert "neither the owner nor a billing admin" in result.output, result.output
    assert acme.snapshot() == before


@pytest.mark.parametrize("way", ["file", "saved-plan"])
def test_a_stranger_cannot_make_themselves_owner(acme: Account, way: str) -> None:
    text = subscription(owner=STRANGER, admins=(STRANGER,))
    acme.save(subscription(agents=26))  # the store has its signing secret from here on
    before = acme.snapshot()
    if way == "file":
        acme.write(text)
        result = acme.run("apply", str(acme.file), "--auto-approve", actor=STRANGER)
        assert result.code == 1
    else:
        source = acme.write(text, acme.dir / "takeover.yaml")
        out = acme.dir / "takeover.json"
        result = acme.run("plan", str(source), "--out", str(out))
        assert result.code == 1 and not out.exists(), result.output  # owner-change: not savable
    assert "owner" in result.output
    assert acme.snapshot() == before


def test_a_stranger_cannot_buy_an_ended_subscription_back(acme: Account) -> None:
    """After a cancellation ends, a new purchase is still checked against the owner on record."""
    acme.write(subscription(status="cancelled"))
    assert (
        acme.run("apply", str(acme.file), "--auto-approve", "--allow-cancel", actor=OWNER).code == 0
    )
    later = "2028-01-15"
    acme.write(subscription())  # the owner's own file, active again
    result = acme.run("apply", str(acme.file), "--auto-approve", actor=STRANGER, at=later)
    assert result.code == 1, result.output
    acme.write(subscription(owner=STRANGER, admins=()))
    result = acme.run("apply", str(acme.file), "--auto-approve", actor=STRANGER, at=later)
    assert result.code == 1, result.output
    versions = json.loads(acme.run("history", "acme", "--format", "json", at=later).out)["versions"]
    assert [v["actor"] for v in versions] == [OWNER, OWNER]


OWNER_ONLY_EDITS = {
    "cancel": {"status": "cancelled"},
    "payment-method": {"payment": "paypal"},
    "payment-ref": {"payment_ref": SECRET_REF2},
    "payment-ref-removed": {"payment_ref": "null"},
    "billing-admins-added": {"admins": (ADMIN, "friend@acme.example")},
    "billing-admins-removed": {"admins": ()},
}


@pytest.mark.parametrize("edit", sorted(OWNER_ONLY_EDITS))
@pytest.mark.parametrize("way", ["file", "saved-plan"])
def test_a_billing_admin_cannot_do_what_only_the_owner_may(
    acme: Account, edit: str, way: str
) -> None:
    text = subscription(**OWNER_ONLY_EDITS[edit])  # type: ignore[arg-type]
    cancel = ["--allow-cancel"]
    if way == "file":
        acme.write(text)
        before = acme.snapshot()
        result = acme.run("apply", str(acme.file), "--auto-approve", *cancel, actor=ADMIN)
    else:
        plan_path = acme.save(text)
        before = acme.snapshot()
        result = acme.run("apply", str(plan_path), *cancel, actor=ADMIN)
    assert result.code == 1, result.output
    assert "billing admin" in result.output and "owner" in result.output, result.output
    assert acme.snapshot() == before
    # The owner may.
    owner = acme.run(
        "apply",
        str(acme.file if way == "file" else plan_path),
        *(["--auto-approve"] if way == "file" else []),
        *cancel,
        actor=OWNER,
    )
    assert owner.code == 0, owner.output


def test_a_billing_admin_may_add_agents(acme: Account) -> None:
    acme.write(subscription(agents=26))
    assert acme.run("apply", str(acme.file), "--auto-approve", actor=ADMIN).code == 0
    versions = json.loads(acme.run("history", "acme", "--format", "json").out)["versions"]
    assert versions[-1]["actor"] == ADMIN


def test_apply_needs_an_actor(acme: Account) -> None:
    acme.write(subscription(agents=26))
    before = acme.snapshot()
    result = acme.run("apply", str(acme.file), "--auto-approve")
    assert result.code == 1 and "who is acting" in result.output, result.output
    assert acme.snapshot() == before


def test_a_plan_with_a_role_error_is_not_saved(acme: Account) -> None:
    source = acme.write(subscription(agents=30), acme.dir / "more.yaml")
    out = acme.dir / "plan.json"
    result = acme.run("plan", str(source), "--out", str(out), actor=STRANGER)
    assert result.code == 1 and not out.exists(), result.output


def test_the_role_is_checked_again_at_apply(acme: Account) -> None:
    """Saved by the owner, applied by a stranger: refused, whoever saved it."""
    plan_path = acme.save(subscription(agents=30), actor=OWNER)
    before = acme.snapshot()
    assert acme.run("apply", str(plan_path), actor=STRANGER).code == 1
    assert acme.snapshot() == before


@pytest.mark.parametrize("way", ["file", "saved-plan"])
def test_regression_stranger_apply_writes_renewals(acme: Account, way: str) -> None:
    """pricing.md: anyone else may plan but not apply. A renewal pending is no exception."""
    later = "2028-01-15"  # acme's annual renewal of 2027-11-27 is pending
    acme.save(subscription(agents=26))  # the store has its signing secret from here on
    before = acme.snapshot()
    if way == "file":
        result = acme.run("apply", str(acme.file), "--auto-approve", actor=STRANGER, at=later)
    else:
        source = acme.write(subscription(), acme.dir / "same.yaml")
        out = acme.dir / "renewal.json"
        assert acme.run("plan", str(source), "--out", str(out), at=later).code == 0
        result = acme.run("apply", str(out), actor=STRANGER, at=later)
    assert result.code == 1, result.output
    assert acme.snapshot() == before
