"""The apply says what it charges before asking and after applying (issue 14).

Run on a real pseudo-terminal, as a person answers the prompt.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import init_store, invoke
from tests.state.conftest import PROMPT, Terminal

OWNER = "owner@acme.example"
FILE = """\
zplan: 1
account: {{subdomain: acme, owner: owner@acme.example}}
billing: {{cycle: annual, payment: card}}
agreements: {{master_subscription_agreement: accepted, privacy_policy: accepted}}
products:
  support: {{edition: team, agents: {agents}}}
"""


def _argv(state: Path, at: str, *args: str) -> list[str]:
    return ["--state", str(state), "--at", at, "--actor", OWNER, *args]


def _answer(argv: list[str], answer: str) -> tuple[int, str]:
    terminal = Terminal(argv)
    try:
        terminal.expect(PROMPT)
        terminal.send(answer)
        return terminal.finish()
    except BaseException:
        terminal.kill()
        raise


def test_a_pending_renewal_alone_is_a_charge_the_prompt_states(tmp_path: Path) -> None:
    state, path = Path(init_store(str(tmp_path / "state.db"))), tmp_path / "acme.yaml"
    path.write_text(FILE.format(agents=20), encoding="utf-8")
    code, output = _answer(_argv(state, "2026-01-04", "apply", str(path)), "yes")
    assert code == 0, output
    # First purchase: Support Team 20 x 19 x 12 = 4,560.00.
    assert "Charge $4,560.00 to acme now (excluding tax)?\n" + PROMPT in output
    assert "Apply complete: 1 account changed (acme). Charged $4,560.00 to acme" in output

    # A year on, nothing changed: the renewal is due, and charged.
    code, output = _answer(_argv(state, "2027-01-10", "apply", str(path)), "yes")
    assert code == 0, output
    assert "No changes." in output
    assert "Charge $4,560.00 to acme now (excluding tax)?" in output
    assert "Apply complete: 1 account changed (acme). Charged $4,560.00 to acme" in output


def test_a_plan_that_charges_nothing_says_so(tmp_path: Path) -> None:
    state, path = Path(init_store(str(tmp_path / "state.db"))), tmp_path / "acme.yaml"
    path.write_text(FILE.format(agents=20), encoding="utf-8")
    code, output = _answer(_argv(state, "2026-01-04", "apply", str(path)), "yes")
    assert code == 0, output
    path.write_text(FILE.format(agents=15), encoding="utf-8")  # fewer agents: at renewal
    code, output = _answer(_argv(state, "2026-02-04", "apply", str(path)), "no")
    assert code == 1, output
    assert "Nothing is charged now.\n" + PROMPT in output
    assert "Apply cancelled." in output


def test_a_saved_plan_apply_states_what_it_charged(tmp_path: Path) -> None:
    state = Path(init_store(str(tmp_path / "state.db")))
    path, saved = tmp_path / "acme.yaml", tmp_path / "plan.json"
    path.write_text(FILE.format(agents=20), encoding="utf-8")
    planned = invoke(_argv(state, "2026-01-04", "plan", str(path), "--out", str(saved)))
    assert planned.code == 0, planned.output
    applied = invoke(_argv(state, "2026-01-04", "apply", str(saved)))
    assert applied.code == 0, applied.output
    # Support Team 20 x 19 x 12 = 4,560.00, as the saved plan says.
    assert "Apply complete: 1 account changed (acme). Charged $4,560.00 to acme" in applied.out
