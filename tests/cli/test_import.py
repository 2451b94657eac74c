"""zplan import: adopt a subscription mid-term as the Admin Center shows it, charging nothing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, Zplan

OWNER = "owner@acme.example"
TODAY = "2026-11-27"


@pytest.fixture
def acme(tmp_path: Path) -> Path:
    file = tmp_path / "acme.yaml"
    file.write_text((EXAMPLES / "accounts" / "acme.yaml").read_text())
    return file


def imported(zplan: Zplan, state: str, *argv: str, actor: str = OWNER, at: str = TODAY):  # type: ignore[no-untyped-def]
    return zplan("--state", state, "--at", at, "--actor", actor, "import", *argv)


def test_import_then_plan_shows_no_changes_and_the_renewal_date(
    zplan: Zplan, state: str, acme: Path
) -> None:
    done = imported(zplan, state, str(acme), "--term-start", "2026-06-15", "--promo-uses", "1")
    assert done.code == 0, done.output
    assert "term 2026-06-15 to 2027-06-15, renews on 2027-06-15. Nothing was charged." in done.out
    assert "Admin Center > Account > Billing > Subscription" in done.out
    plan = zplan("--state", state, "--at", TODAY, "plan", str(acme), "--detailed-exitcode")
    assert plan.code == 0, plan.output
    assert "renews on 2027-06-15 (term 2026-06-15 to 2027-06-15)" in plan.out
    assert "No changes. The subscription of acme matches the configuration." in plan.out
    history = json.loads(zplan("--state", state, "history", "acme", "--format", "json").out)
    (version,) = history["versions"]
    assert (version["kind"], version["charged"], version["actor"]) == ("import", "0.00", OWNER)
    text = zplan("--state", state, "history", "acme", "--verify").out
    assert f"imported by {OWNER} from {acme}" in text
    assert "Audit chain verified: 1 entries, no break." in text


def test_a_mid_term_change_is_prorated_from_the_imported_term(
    zplan: Zplan, state: str, acme: Path
) -> None:
    imported(zplan, state, str(acme), "--term-start", "2026-06-15", "--promo-uses", "1")
    acme.write_text(acme.read_text().replace("agents: 25", "agents: 30"))
    plan = zplan("--state", state, "--at", TODAY, "plan", str(acme), "--format", "json")
    account = json.loads(plan.out)["accounts"][0]
    assert account["totals"]["proration"] == {"remaining_days": 200, "term_days": 365}
    assert [c["kind"] for c in account["changes"]] == ["agents_increase"]


def test_monthly_anchor_day_and_balance(zplan: Zplan, state: str, tmp_path: Path) -> None:
    file = tmp_path / "beta.yaml"
    text = (EXAMPLES / "accounts" / "acme.yaml").read_text()
    text = text.replace("cycle: annual", "cycle: monthly").replace("  promo_code: WELCOME10\n", "")
    # Copilot and Quality Assurance are sold on annual billing only.
    keep = [
        x for x in text.splitlines() if not x.strip().startswith(("addons", "copilot", "quality"))
    ]
    text = "\n".join(keep) + "\n"
    file.write_text(text)
    done = imported(zplan, state, str(file), "--term-start", "2026-10-31", "--balance", "120.5")
    assert done.code == 0, done.output
    assert "term 2026-10-31 to 2026-11-30, renews on 2026-11-30" in done.out
    state_yaml = zplan("--state", state, "--at", TODAY, "state", "show", "acme").out
    assert "balance: '120.50'" in state_yaml
    plan = zplan("--state", state, "--at", TODAY, "plan", str(file))
    assert "No changes." in plan.out, plan.output


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--term-start", "2025-11-26", "--promo-uses", "1"],
            "Error: --term-start 2025-11-26 is more than one annual cycle ago: that term ended "
            "on 2026-11-26\n  hint: give the latest renewal date",
        ),
        (
            ["--term-start", "2026-12-01", "--promo-uses", "1"],
            "Error: --term-start 2026-12-01 is after today (2026-11-27)",
        ),
        (["--term-start", "2026-06-15"], "say how many of its invoices were already discounted"),
        (["--term-start", "yesterday"], "Error: --term-start: 'yesterday' is not a date"),
        (["--balance", "lots", "--promo-uses", "1"], "Error: --balance 'lots': not an amount"),
        (["--balance", "-5", "--promo-uses", "1"], "an account credit is not negative"),
        (["--promo-uses", "2"], "--promo-uses 2: the promotion WELCOME10 covers 1"),
    ],
)
def test_bad_terms_are_one_clear_line_and_write_nothing(
    zplan: Zplan, state: str, acme: Path, argv: list[str], message: str
) -> None:
    done = imported(zplan, state, str(acme), *argv)
    assert done.code == 1
    assert message in done.err and "Traceback" not in done.output
    assert not Path(state).exists() or "acme" not in zplan("--state", state, "history", "acme").out


def test_only_the_owner_imports(zplan: Zplan, state: str, acme: Path) -> None:
    done = imported(zplan, state, str(acme), "--promo-uses", "1", actor="finance@acme.example")
    assert done.code == 1
    assert "only the account owner (owner@acme.example) may import it" in done.err


def test_the_owner_from_git_when_no_actor_is_given(zplan: Zplan, state: str, acme: Path) -> None:
    done = zplan("--state", state, "--at", TODAY, "import", str(acme), "--promo-uses", "1")
    assert (
        done.code == 1 and "apply needs to know who is acting" in done.err
    ) or "acting" in done.err
    subprocess.run(["git", "config", "--global", "user.email", OWNER], check=True)
    done = zplan("--state", state, "--at", TODAY, "import", str(acme), "--promo-uses", "1")
    assert done.code == 0, done.output


def test_an_account_on_record_is_refused(zplan: Zplan, state: str, acme: Path) -> None:
    assert imported(zplan, state, str(acme), "--promo-uses", "1").code == 0
    again = imported(zplan, state, str(acme), "--promo-uses", "1")
    assert again.code == 1
    assert "acme is already on record (serial 1)" in again.err
    assert f"hint: zplan plan {acme} shows how the file differs from the record" in again.err


def test_an_invalid_file_is_refused_with_where(zplan: Zplan, state: str, acme: Path) -> None:
    acme.write_text(acme.read_text().replace("edition: professional", "edition: profesional"))
    done = imported(zplan, state, str(acme), "--promo-uses", "1")
    assert done.code == 1
    assert f"Error: {acme}:" in done.err and "products.suite.edition" in done.err


@pytest.mark.parametrize(("uses", "discounted"), [(1, True), (3, False)])
def test_a_promotion_with_cycles_left_keeps_discounting(
    zplan: Zplan, state: str, tmp_path: Path, uses: int, discounted: bool
) -> None:
    import zplan.load.catalog as catalogs

    shipped = Path(catalogs.__file__).parent.parent / "catalogs" / catalogs.DEFAULT_CATALOG
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(shipped.read_text().replace("duration: once", "duration: {cycles: 3}", 1))
    file = tmp_path / "acme.yaml"
    file.write_text((EXAMPLES / "accounts" / "acme.yaml").read_text())
    base = ("--state", state, "--catalog", str(catalog), "--at", TODAY, "--actor", OWNER)
    argv = ("import", str(file), "--term-start", "2026-06-15", "--promo-uses", str(uses))
    done = zplan(*base, *argv)
    assert done.code == 0, done.output
    plan = json.loads(zplan(*base, "plan", str(file), "--format", "json").out)["accounts"][0]
    assert plan["changes"] == []
    # The renewal on 2027-06-15 is the promotion's second (of three) cycles, or past its end.
    recurring = plan["totals"]["recurring_before"]["per_cycle"]
    full = "53700.00"  # 25 Suite Professional + 25 Copilot + 10 QA, a year, at list price
    assert (recurring != full) is discounted, recurring
