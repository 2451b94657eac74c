"""Card numbers in any spelling: refused in files, never echoed by any output.

The issue's cases first (spellings the loader let through, outputs that
echoed a number), then a property: for random card numbers in random
spellings and places, no output of any command holds eight of its digits in
a row.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from zplan.load.document import load_text
from zplan.redact import card_numbers, luhn, mask_cards

from tests.conftest import TODAY, init_store, invoke

CARD = "4111111111111111"
OWNER = "owner@acme.example"
SEPARATORS = [" ", "-", ".", "_", ":", "\u00a0", "\u2009", "\u202f", "\u3000"]


def subscription(*, ref: str = "pm_1QxY4242", extra: str = "", subdomain: str = "acme") -> str:
    return (
        "zplan: 1\n"
        "account:\n"
        f"  subdomain: {subdomain}\n"
        f"  owner: {OWNER}\n"
        "billing:\n"
        "  cycle: annual\n"
        "  payment: card\n"
        f"  payment_ref: {ref}\n"
        f"{extra}"
        "agreements:\n"
        "  master_subscription_agreement: accepted\n"
        "  privacy_policy: accepted\n"
        "products:\n"
        "  suite:\n"
        "    edition: professional\n"
        "    agents: 5\n"
        "status: active\n"
    )


def _leaks(text: str, digits: str, run: int = 8) -> list[str]:
    """Windows of ``run`` digits of the card that ``text`` shows in a row (separators
    between digits, of any kind the scan knows, are looked through)."""
    from zplan.redact import SEPARATOR

    joined = re.sub(rf"(?<=[0-9]){SEPARATOR}(?=[0-9])", "", text)
    return [
        digits[i : i + run] for i in range(len(digits) - run + 1) if digits[i : i + run] in joined
    ]


# The spellings, each refused -------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        '"\\x34111111111111111"',  # a YAML escape that decodes to a card
        '"\\u0034111111111111111"',
        "4111.1111.1111.1111",
        "4111_1111_1111_1111",
        "4111:1111:1111:1111",
        "4111a1111b1111c1111",  # letters between the groups, in a payment_ref
        '"4111\u00a01111\u00a01111\u00a01111"',  # non-breaking spaces
        '"4111\u2009111111111111"',
        ">-\n    4111 1111\n    1111 1111",  # folded across lines
        '"4111 1111 \\\n    1111 1111"',  # a quoted line continuation
        '"4111\\t1111\\t1111\\t1111"',
    ],
)
def test_card_spellings_in_payment_ref_are_refused(tmp_path: Path, value: str) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(subscription(ref=value), encoding="utf-8")
    for fmt in ("text", "json", "github"):
        result = invoke(["validate", str(path), "--format", fmt])
        assert result.code == 1, result.output
        assert "card" in result.output
        assert _leaks(result.output, CARD) == [], result.output
    state = init_store(str(tmp_path / "s.db"))
    plan = invoke(["--state", state, "--at", TODAY, "plan", str(path)])
    assert plan.code == 1 and _leaks(plan.output, CARD) == []


@pytest.mark.parametrize(
    "text",
    [
        'x: "\\x34111111111111111"\n',
        "x: >-\n  4111 1111\n  1111 1111\n",
        'x: "4111 1111 \\\n  1111 1111"\n',
        '? "4111\\x201111\\x201111\\x201111"\n: 1\n',
        "x: 4111.1111.1111.1111\n",
        "x: 4111_1111_1111_1111\n",
        "x: 4111:1111:1111:1111\n",
        "x: '4111\u00a01111\u00a01111\u00a01111'\n",
    ],
)
def test_the_loader_finds_cards_after_decoding(text: str) -> None:
    document = load_text(text, "f.yaml")
    assert [d.code for d in document.diagnostics].count("card-number") == 1, document.diagnostics
    assert document.data is None
    for d in document.diagnostics:
        assert _leaks(f"{d.path} {d.message} {d.hint}", CARD) == []


def test_a_dot_in_a_float_joins_no_card() -> None:
    """Dots separate a card's groups only as cards are printed (two or more, groups of 3+).

    (A fraction of 13 digits or more is a run of digits like any other: it may pass
    Luhn by itself, as it did before dots were separators.)
    """
    import random

    rng = random.Random(13)
    floats = [repr(rng.random() * 10 ** rng.randint(0, 8)) for _ in range(5000)]
    assert [c.text for f in floats for c in card_numbers(f) if "." in c.text] == []
    assert card_numbers("0.30000000000000004") == []
    assert card_numbers("378282.246310005") == []  # one dot: a number, not a printed card
    assert [c.digits for c in card_numbers("3782.822463.10005")] == ["378282246310005"]


def test_a_date_and_time_is_not_a_card() -> None:
    assert (
        card_numbers("2026-11-27 10:00:00") == []
    )  # 14 digits: would pass Luhn as 20261127100000?
    assert mask_cards("at 2026-11-27 10:00:00") == "at 2026-11-27 10:00:00"


def test_generated_ids_are_not_masked() -> None:
    head = "4111111111111111" + "0" * 48  # a hex digest that starts with card-like digits
    uuid = "41111111-1111-1111-4111-111111111111"
    assert mask_cards(f"head {head}") == f"head {head}"
    assert mask_cards(f"lock {uuid}") == f"lock {uuid}"
    assert mask_cards(f"card {CARD}") == "card •••• 1111"


def test_a_short_payment_ref_is_never_shown(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(subscription(ref="pm42"), encoding="utf-8")
    state = init_store(str(tmp_path / "s.db"))
    applied = invoke(
        ["--state", state, "--at", TODAY, "--actor", OWNER, "apply", str(path), "--auto-approve"]
    )
    assert applied.code == 0, applied.output
    for argv in (["state", "show", "acme"], ["history", "acme"], ["export", "acme"]):
        shown = invoke(["--state", state, "--at", TODAY, *argv])
        assert shown.code == 0, shown.output
        assert "pm42" not in shown.output and "…pm42" not in shown.output


# Command-line arguments ------------------------------------------------------------


ARG_COMMANDS = [
    ["history", "{card}"],
    ["history", "{card}", "--format", "json"],
    ["export", "{card}"],
    ["state", "show", "{card}"],
    ["force-unlock", "{card}", "{card}"],
    ["force-unlock", "acme", "{card}"],
    ["admin", "account", "{card}", "--type", "managed", "--actor", OWNER],
    ["catalog", "compare", "{card}"],
    ["validate", "{card}"],
    ["plan", "{card}"],
    ["apply", "{card}", "--auto-approve", "--actor", OWNER],
    ["--actor", "{card}", "plan", "acme.yaml"],
    ["--at", "{card}", "plan", "acme.yaml"],
    ["--catalog", "{card}", "plan", "acme.yaml"],
    ["history", "acme", "--serial", "{card}"],
    ["no-such-command-{card}"],
]


@pytest.mark.parametrize("spelling", [CARD, "4111 1111 1111 1111", "4111.1111.1111.1111"])
@pytest.mark.parametrize("argv", ARG_COMMANDS, ids=lambda a: " ".join(a)[:40])
def test_card_like_arguments_are_never_echoed(
    tmp_path: Path, argv: list[str], spelling: str
) -> None:
    (tmp_path / "acme.yaml").write_text(subscription(), encoding="utf-8")
    state = init_store(str(tmp_path / "s.db"))
    invoke(
        ["--state", state, "--at", TODAY, "--actor", OWNER, "apply", "acme.yaml", "--auto-approve"]
    )
    result = invoke(["--state", state, "--at", TODAY, *(a.format(card=spelling) for a in argv)])
    assert "unexpected error" not in result.output
    assert _leaks(result.output, CARD) == [], result.output


def test_the_crash_log_scrubs_arguments_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zplan.cli import _crash_log

    monkeypatch.setattr(
        sys,
        "argv",
        ["zplan", "history", CARD, "--state", "postgresql://u:hunter2@db/x?password=hunter3"],
    )
    monkeypatch.setenv("ZPLAN_STATE", "postgresql://u@db/x?sslmode=require&password=hunter4")
    monkeypatch.setenv("ZPLAN_ACTOR", "4111-1111-1111-1111")
    monkeypatch.setenv("ZPLAN_ZENDESK_TOKEN", "hunter6")
    monkeypatch.setenv("ZPLAN_SIGNING_KEY", "hunter7")
    try:
        raise RuntimeError(f"boom {CARD} postgresql://a:hunter5@h/d")
    except RuntimeError as exc:
        path = Path(_crash_log(exc))
    text = path.read_text(encoding="utf-8")
    assert _leaks(text, CARD) == [], text
    for secret in ("hunter2", "hunter3", "hunter4", "hunter5", "hunter6", "hunter7"):
        assert secret not in text
    assert "1111" in text and "ZPLAN_STATE=postgresql://u@db/x" in text


# The property: random numbers, random spellings, random places ---------------------


@st.composite
def cards(draw: st.DrawFn) -> str:
    length = draw(st.integers(13, 19))
    body = draw(st.text("0123456789", min_size=length - 1, max_size=length - 1))
    body = draw(st.sampled_from("3456")) + body[1:]
    check = next(d for d in "0123456789" if luhn(body + d))
    return body + check


@st.composite
def spellings(draw: st.DrawFn, digits: str) -> str:
    separator = draw(st.sampled_from(["", *SEPARATORS]))
    if not separator:
        return digits
    groups, at = [], 0
    while at < len(digits):
        size = draw(st.sampled_from([4, 4, 4, 3, 5]))
        groups.append(digits[at : at + size])
        at += size
    if len(groups[-1]) < 3 and len(groups) > 1:
        last = groups.pop()
        groups[-1] += last
    return separator.join(groups)


PLACES = {
    "payment_ref": lambda s: subscription(ref=json.dumps(s)),
    "promo_code": lambda s: subscription(extra=f"  promo_code: {json.dumps(s)}\n"),
    "comment": lambda s: subscription(extra=f"  # card {s}\n"),
    "key": lambda s: subscription(extra=f"  {json.dumps(s)}: 1\n"),
    "owner": lambda s: subscription().replace(OWNER, json.dumps(f"x{s}@acme.example")),
    "subdomain": lambda s: subscription(subdomain=json.dumps(s)),
    "file name": lambda s: subscription(),
}


@given(data=st.data())
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_output_shows_eight_digits_of_a_card(tmp_path: Path, data: st.DataObject) -> None:
    digits = data.draw(cards(), label="card")
    written = data.draw(spellings(digits), label="spelling")
    place = data.draw(st.sampled_from(sorted(PLACES)), label="place")
    path = tmp_path / (f"{written}.yaml" if place == "file name" else "acme.yaml")
    path.write_text(PLACES[place](written), encoding="utf-8")
    state = str(tmp_path / "s.db")
    if not Path(state).exists():
        init_store(state)
    outputs = []
    for fmt in ("text", "json", "github"):
        outputs.append(invoke(["validate", str(path), "--format", fmt]))
    for fmt in ("text", "json", "markdown"):
        outputs.append(
            invoke(["--state", state, "--at", TODAY, "plan", str(path), "--format", fmt])
        )
    outputs.append(
        invoke(
            [
                "--state",
                state,
                "--at",
                TODAY,
                "--actor",
                OWNER,
                "apply",
                str(path),
                "--auto-approve",
            ]
        )
    )
    for argv in (
        ["history", written],
        ["history", written, "--format", "json"],
        ["export", written],
        ["state", "show", written],
        ["force-unlock", written, written],
        ["catalog", "compare", written],
        ["--actor", written, "plan", str(path)],
    ):
        outputs.append(invoke(["--state", state, "--at", TODAY, *argv]))
    for result in outputs:
        assert result.code in (0, 1) and "unexpected error" not in result.output
        assert _leaks(result.output, digits) == [], (place, written, result.output)
    assert outputs[0].code == 1  # the file is refused, wherever the number stands
