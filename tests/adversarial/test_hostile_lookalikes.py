"""Look-alikes: invisible characters never printed raw; e-mail addresses that pass for another refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.adversarial.support import EXAMPLES
from tests.conftest import TODAY, init_store, invoke

ACME = EXAMPLES / "accounts" / "acme.yaml"
OWNER = "owner@acme.example"
INVISIBLE = ["\u202e", "\u202d", "\u2066", "\u200b", "\u200d", "\u2060", "\ufeff", "\u061c"]


@pytest.mark.parametrize("char", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
@pytest.mark.parametrize("where", ["value", "key", "file name"])
def test_invisible_characters_are_shown_escaped_everywhere(
    tmp_path: Path, char: str, where: str
) -> None:
    text = ACME.read_text()
    name = "acme.yaml"
    if where == "value":
        text = text.replace("promo_code: WELCOME10", f'promo_code: "WEL{char}COME10"')
    elif where == "key":
        text = text.replace("promo_code: WELCOME10", f'"promo{char}_code": WELCOME10')
    else:
        name = f"ac{char}me.yaml"
    (tmp_path / name).write_text(text, encoding="utf-8")
    state = init_store(str(tmp_path / "s.db"))
    runs = [invoke(["validate", name, "--format", fmt]) for fmt in ("text", "json", "github")]
    runs += [
        invoke(["--state", state, "--at", TODAY, "plan", name, "--format", fmt])
        for fmt in ("text", "json", "markdown")
    ]
    escaped = f"\\u{ord(char):04x}"
    for result in runs:
        assert result.code in (0, 1) and "unexpected error" not in result.output
        assert char not in result.output, result.output
    assert any(escaped in r.output for r in runs)
    # JSON stays JSON: the escape is JSON's own, and reads back as the character.
    report = json.loads(runs[1].out)
    if where != "file name":
        assert any(char in d["message"] for d in report["diagnostics"])


def test_an_invisible_character_in_an_argument_is_shown_escaped(tmp_path: Path) -> None:
    result = invoke(["--state", str(tmp_path / "s.db"), "history", "ac\u202eme"])
    assert result.code == 1
    assert "\u202e" not in result.output and "ac\\u202eme" in result.err


@pytest.mark.parametrize(
    ("address", "named"),
    [
        ("f\u0456nance@acme.example", "U+0456"),  # Cyrillic і
        ("finance@\u0430cme.example", "U+0430"),  # Cyrillic а in the domain
        ("\uff46inance@acme.example", "U+FF46"),  # fullwidth f
        ("fi\ufb01nance@acme.example", "U+FB01"),  # the ligature ﬁ
        ("finance\u200b@acme.example", "U+200B"),
    ],
)
@pytest.mark.parametrize("role", ["owner", "billing admin"])
def test_look_alike_e_mail_addresses_are_refused(
    tmp_path: Path, address: str, named: str, role: str
) -> None:
    text = ACME.read_text()
    if role == "owner":
        text = text.replace("owner: owner@acme.example", f"owner: {json.dumps(address)}")
    else:
        text = text.replace("- finance@acme.example", f"- {json.dumps(address)}")
    (tmp_path / "acme.yaml").write_text(text, encoding="utf-8")
    result = invoke(["validate", "acme.yaml"])
    assert result.code == 1, result.output
    assert named in result.out, result.out
    assert address not in result.out


@pytest.mark.parametrize(
    "address",
    ["jos\u00e9@acme.example", "\u043f\u0451\u0442\u0440@\u043f\u0440\u0438.\u0440\u0444"],
)
def test_one_script_e_mail_addresses_are_accepted(tmp_path: Path, address: str) -> None:
    text = ACME.read_text().replace("- finance@acme.example", f"- {json.dumps(address)}")
    (tmp_path / "acme.yaml").write_text(text, encoding="utf-8")
    assert invoke(["validate", "acme.yaml"]).code == 0


def test_a_look_alike_actor_is_refused(tmp_path: Path) -> None:
    shutil.copy(ACME, tmp_path / "acme.yaml")
    result = invoke(
        [
            "--state",
            str(tmp_path / "s.db"),
            "--at",
            TODAY,
            "--actor",
            "\u043ewner@acme.example",  # Cyrillic о
            "apply",
            "acme.yaml",
            "--auto-approve",
        ]
    )
    assert result.code == 1
    assert "U+043E" in result.err and "could pass for another" in result.err
    assert not (tmp_path / "s.db").exists() or "Apply complete" not in result.out
