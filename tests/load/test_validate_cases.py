"""``zplan validate``: every bad input is an error at the right place, never a traceback.

The table below gives each bad file whole (or as raw bytes) with the one
diagnostic it must produce: its code, line and column, and its dotted path.
Each case is run with ``--format json`` (to read the fields exactly) and with
the text format (to check the ``FILE:LINE:COLUMN: error: PATH: MESSAGE`` line).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import TODAY, Zplan
from tests.load.validate_support import (
    BASE,
    CARD,
    SMALL,
    SMALL_CATALOG,
    Case,
    case,
    diagnostics_of,
    edit,
    laughs,
    no_traceback,
    write,
)

CASES = [
    # Reading YAML safely.
    case(
        "duplicate-key-top", BASE + "zplan: 1\n", "duplicate-key", 17, 1, "zplan", "first on line 1"
    ),
    case(
        "duplicate-key-nested",
        edit("  payment: card\n", "  payment: card\n  cycle: monthly\n"),
        "duplicate-key",
        8,
        3,
        "billing.cycle",
        "first on line 6",
    ),
    case(
        "duplicate-key-deep",
        edit("      copilot: 25\n", "      copilot: 25\n      copilot: 20\n"),
        "duplicate-key",
        17,
        7,
        "products.suite.addons.copilot",
        "appears twice",
    ),
    case("billion-laughs", laughs(), "too-many-nodes", 5, 36, "d[7]", "10,000", subprocess=True),
    case(
        "nesting-65-levels",
        "zplan: 1\nx: " + "[" * 64 + "]" * 64 + "\n",
        "too-deep",
        2,
        67,
        "x" + "[0]" * 63,
        "deeper than 64",
    ),
    case(
        "nesting-block-style",
        "zplan: 1\nx:\n" + "".join("  " * i + "- \n" for i in range(70)),
        "too-deep",
        66,
        127,
        "x" + "[0]" * 63,
        "deeper than 64",
        subprocess=True,
    ),
    case(
        "file-over-1-mib",
        b"zplan: [\n\tbroken" + b"#" * (1024 * 1024),
        "file-too-large",
        1,
        1,
        "(file)",
        "at most 1 MiB",
        subprocess=True,
    ),
    case(
        "python-tag",
        edit("cycle: annual", "cycle: !!python/object/apply:os.system [ls]"),
        "custom-tag",
        6,
        10,
        "billing.cycle",
        "!!python/object/apply:os.system",
        subprocess=True,
    ),
    case(
        "local-tag",
        edit("edition: professional", "edition: !foo professional"),
        "custom-tag",
        13,
        14,
        "products.suite.edition",
        "!foo",
    ),
    case(
        "not-utf8",
        edit("subdomain: acme", "subdomain: ac\udcffme").encode("utf-8", "surrogateescape"),
        "not-utf8",
        3,
        16,
        "(file)",
        "0xff",
        subprocess=True,
    ),
    case(
        "not-utf8-after-accents",
        b"zplan: 1\n# \xc3\xa9t\xc3\xa9 \xe9\n",
        "not-utf8",
        2,
        7,
        "(file)",
        "0xe9",
    ),
    case("utf16-bom", BASE.encode("utf-16"), "not-utf8", 1, 1, "(file)", "UTF-16"),
    case("empty-file", "", "empty-file", 1, 1, "(file)", "empty"),
    case("comment-only", "# zplan: 1\n# nothing else\n", "empty-file", 1, 1, "(file)", "empty"),
    case(
        "multi-document", BASE + "---\n" + BASE, "multi-document", 17, 1, "(file)", "more than one"
    ),
    case(
        "top-level-list", "- zplan: 1\n- account: acme\n", "not-a-mapping", 1, 1, "(file)", "a list"
    ),
    case("top-level-scalar", "zplan 1\n", "not-a-mapping", 1, 1, "(file)", "a string"),
    case(
        "cycle-no",
        edit("cycle: annual", "cycle: no"),
        "yaml11-boolean",
        6,
        10,
        "billing.cycle",
        "boolean false",
    ),
    case(
        "cycle-yes",
        edit("cycle: annual", "cycle: yes"),
        "yaml11-boolean",
        6,
        10,
        "billing.cycle",
        "boolean true",
    ),
    case(
        "cycle-on",
        edit("cycle: annual", "cycle: on"),
        "yaml11-boolean",
        6,
        10,
        "billing.cycle",
        'quote it ("on")',
    ),
    case(
        "leading-zero",
        edit("agents: 25", "agents: 010"),
        "yaml11-number",
        14,
        13,
        "products.suite.agents",
        "leading zero",
    ),
    case(
        "hex",
        edit("agents: 25", "agents: 0x1F"),
        "yaml11-number",
        14,
        13,
        "products.suite.agents",
        "hexadecimal",
    ),
    case(
        "octal-0o",
        edit("agents: 25", "agents: 0o17"),
        "yaml11-number",
        14,
        13,
        "products.suite.agents",
        "octal",
    ),
    case(
        "binary",
        edit("agents: 25", "agents: 0b101"),
        "yaml11-number",
        14,
        13,
        "products.suite.agents",
        "binary",
    ),
    case(
        "sexagesimal",
        edit("agents: 25", "agents: 1:30"),
        "yaml11-number",
        14,
        13,
        "products.suite.agents",
        "base-60",
    ),
    case(
        "digit-separators",
        edit("agents: 25", "agents: 1_000"),
        "yaml11-number",
        14,
        13,
        "products.suite.agents",
        "separators",
    ),
    case(
        "agents-5.0",
        edit("agents: 25", "agents: 5.0"),
        "not-an-integer",
        14,
        13,
        "products.suite.agents",
        "write 5",
    ),
    case(
        "agents-1e3",
        edit("agents: 25", "agents: 1e3"),
        "not-an-integer",
        14,
        13,
        "products.suite.agents",
        "write 1000",
    ),
    case(
        "agents-true",
        edit("agents: 25", "agents: true"),
        "wrong-type",
        14,
        13,
        "products.suite.agents",
        "the boolean true",
    ),
    case(
        "agents-infinity",
        edit("agents: 25", "agents: .inf"),
        "wrong-type",
        14,
        13,
        "products.suite.agents",
        "inf",
    ),
    case(
        "card-in-value",
        edit("  payment: card\n", f"  payment: card\n  payment_ref: {CARD}\n"),
        "card-number",
        8,
        16,
        "(file)",
        "ending in 1111",
    ),
    case(
        "card-in-comment",
        BASE + f"# paid with {CARD.replace(' ', '-')}\n",
        "card-number",
        17,
        13,
        "(file)",
        "ending in 1111",
    ),
    case(
        "card-as-duplicate-key",
        BASE + "4111111111111111: a\n4111111111111111: b\n",
        "card-number",
        17,
        1,
        "(file)",
        "ending in 1111",
        errors=3,
    ),
    case(
        "tab-indentation",
        edit("  subdomain: acme", "\tsubdomain: acme"),
        "yaml-syntax",
        3,
        1,
        "account.subdomain",  # the key on the line with the tab (issue 14)
        "indent with spaces",
    ),
    case(
        "syntax-error",
        edit("owner: owner@acme.example", "owner: owner@acme.example: x"),
        "yaml-syntax",
        4,
        28,
        "account.owner",
        "mapping values are not allowed",
    ),
    case(
        "unclosed-quote",
        edit("edition: professional", 'edition: "professional'),
        "yaml-syntax",
        13,  # where the quote opens (issue 14), not at the end of the file
        14,
        "products.suite.edition",
        "opened here is never closed",
    ),
    case(
        "control-character",
        edit("subdomain: acme", "subdomain: ac\x07me"),
        "yaml-syntax",
        3,
        16,
        "(file)",
        "U+0007",
    ),
    case(
        "undefined-alias",
        edit("subdomain: acme", "subdomain: *acme"),
        "undefined-alias",
        3,
        14,
        "account.subdomain",
        "*acme",
    ),
    case(
        "tag-on-list",
        edit("cycle: annual", "cycle: !!int [1]"),
        "custom-tag",
        6,
        10,
        "billing.cycle",
        "!!int",
    ),
    # The schema.
    case(
        "unknown-top-level-key",
        BASE + "statuss: active\n",
        "unknown-key",
        17,
        1,
        "statuss",
        "did you mean 'status'?",
    ),
    case(
        "unknown-key-in-product",
        edit("    agents: 25\n", "    agents: 25\n    seats: 25\n"),
        "unknown-key",
        15,
        5,
        "products.suite.seats",
        "allowed here: edition, agents, addons",
    ),
    case(
        "missing-owner",
        edit("  owner: owner@acme.example\n", ""),
        "missing-key",
        3,
        3,
        "account",
        "'owner' is required",
    ),
    case(
        "missing-billing",
        "# a comment first\n" + edit("billing:\n  cycle: annual\n  payment: card\n", ""),
        "missing-key",
        2,
        1,
        "(file)",
        "'billing' is required",
    ),
    case(
        "missing-agents",
        edit("    agents: 25\n", ""),
        "missing-key",
        13,
        5,
        "products.suite",
        "'agents' is required",
    ),
    case(
        "agreement-not-accepted",
        edit("privacy_policy: accepted", "privacy_policy: declined"),
        "invalid-value",
        10,
        19,
        "agreements.privacy_policy",
        "must be 'accepted'",
    ),
    case("zplan-2", edit("zplan: 1", "zplan: 2"), "invalid-value", 1, 8, "zplan", "must be 1"),
    case("zplan-1.0", edit("zplan: 1", "zplan: 1.0"), "not-an-integer", 1, 8, "zplan", "write 1"),
    case(
        "bad-subdomain",
        edit("subdomain: acme", "subdomain: Acme_Corp"),
        "invalid-format",
        3,
        14,
        "account.subdomain",
        "'Acme_Corp'",
    ),
    case(
        "bad-email",
        edit("owner: owner@acme.example", "owner: owner-at-acme"),
        "invalid-format",
        4,
        10,
        "account.owner",
        "e-mail",
    ),
    case(
        "bad-cycle",
        edit("cycle: annual", "cycle: yearly"),
        "invalid-value",
        6,
        10,
        "billing.cycle",
        "not one of annual, monthly",
    ),
    case(
        "bad-status",
        BASE + "status: canceled\n",
        "invalid-value",
        17,
        9,
        "status",
        "did you mean 'cancelled'?",
    ),
    case(
        "addon-zero-seats",
        edit("copilot: 25", "copilot: 0"),
        "invalid-value",
        16,
        16,
        "products.suite.addons.copilot",
        "0 is not allowed",
    ),
    case(
        "products-a-list",
        edit(BASE[BASE.index("products:") :], "products: [suite]\n"),
        "wrong-type",
        11,
        11,
        "products",
        "a mapping",
    ),
    # The catalog's rules.
    case(
        "unknown-product",
        edit("  suite:", "  suit:"),
        "unknown-product",
        12,
        3,
        "products.suit",
        "did you mean 'suite'?",
    ),
    case(
        "unknown-edition",
        edit("edition: professional", "edition: profesional"),
        "unknown-edition",
        13,
        14,
        "products.suite.edition",
        "did you mean 'professional'?",
    ),
    case(
        "unknown-addon",
        edit("copilot: 25", "copilt: 25"),
        "unknown-addon",
        16,
        7,
        "products.suite.addons.copilt",
        "did you mean 'copilot'?",
    ),
    case(
        "unknown-currency",
        edit("  owner: owner@acme.example\n", "  owner: owner@acme.example\n  currency: USB\n"),
        "unknown-currency",
        5,
        13,
        "account.currency",
        "did you mean 'USD'?",
    ),
    case(
        "unknown-promotion",
        edit("  payment: card\n", "  payment: card\n  promo_code: WELCOME11\n"),
        "unknown-promotion",
        8,
        15,
        "billing.promo_code",
        "did you mean 'WELCOME10'?",
    ),
    case(
        "suite-with-support",
        BASE + "  support: {edition: team, agents: 2}\n",
        "suite-conflict",
        17,
        3,
        "products.support",
        "Zendesk Suite replaces it",
    ),
    case(
        "addon-below-edition",
        edit("edition: professional", "edition: growth"),
        "addon-edition",
        16,
        7,
        "products.suite.addons.copilot",
        "needs Suite Professional or above",
    ),
    case(
        "addon-on-monthly",
        edit("cycle: annual", "cycle: monthly"),
        "addon-cycle",
        16,
        7,
        "products.suite.addons.copilot",
        "annual billing only, not monthly",
    ),
    case(
        "addon-seats-over-agents",
        edit("copilot: 25", "copilot: 26"),
        "addon-seats",
        16,
        16,
        "products.suite.addons.copilot",
        "only 25 agents",
    ),
    case(
        "per-agent-addon-true",
        edit("copilot: 25", "copilot: true"),
        "addon-unit",
        16,
        16,
        "products.suite.addons.copilot",
        "give the number of seats",
    ),
    case(
        "addon-not-sold-with-product",
        edit("  suite:\n    edition: professional", "  chat:\n    edition: professional"),
        "addon-product",
        16,
        7,
        "products.chat.addons.copilot",
        "not sold with chat",
    ),
    case(
        "products-empty",
        edit(BASE[BASE.index("products:") :], "products: {}\n"),
        "no-products",
        11,
        11,
        "products",
        "at least one product",
    ),
    case(
        "products-missing",
        "# no products\n" + BASE[: BASE.index("products:")],
        "no-products",
        2,
        1,
        "(file)",
        "at least one product",
    ),
    case(
        "seats-over-max",
        edit("agents: 3", "agents: 6", SMALL),
        "seat-limit",
        8,
        13,
        "products.desk.agents",
        "at most 5 agents",
        small_catalog=True,
    ),
    case(
        "seats-under-min",
        edit("agents: 3", "agents: 1", SMALL),
        "seat-limit",
        8,
        13,
        "products.desk.agents",
        "at least 2 agents",
        small_catalog=True,
    ),
    case(
        "per-account-addon-number",
        edit("sandbox: true", "sandbox: 3", SMALL),
        "addon-unit",
        10,
        16,
        "products.desk.addons.sandbox",
        "write true",
        small_catalog=True,
    ),
    case(
        "edition-not-sold-monthly",
        edit("cycle: annual", "cycle: monthly", SMALL),
        "cycle-not-sold",
        3,
        18,
        "billing.cycle",
        "not sold on monthly",
        small_catalog=True,
    ),
]


@pytest.mark.parametrize("bad", CASES)
def test_bad_input(bad: Case, zplan: Zplan, tmp_path: Path) -> None:
    name = write(tmp_path, "acct.yaml", bad.content)
    options = ["--at", TODAY]
    if bad.small_catalog:
        options += ["--catalog", write(tmp_path, "small-catalog.yaml", SMALL_CATALOG)]
    run = zplan.sub if bad.subprocess else zplan  # a few through a real process, end to end

    as_json = run(*options, "validate", "--format", "json", name)
    no_traceback(as_json)
    assert as_json.code == 1, as_json.output
    errors = [d for d in diagnostics_of(as_json) if d["severity"] == "error"]
    assert len(errors) == bad.errors, errors
    found = [d for d in errors if d["code"] == bad.code]
    assert found, errors
    first = found[0]
    assert (first["line"], first["column"], first["path"]) == (bad.line, bad.column, bad.path)
    assert first["file"] == name
    assert bad.says in f"{first['message']} ({first['hint']})"

    as_text = zplan(*options, "validate", name)
    no_traceback(as_text)
    assert as_text.code == 1
    assert f"{name}:{bad.line}:{bad.column}: error: {bad.path}: {first['message']}" in as_text.out
    assert f"1 file checked: {bad.errors} error" in as_text.out
    if CARD.replace(" ", "")[:12] in str(bad.content).replace(" ", "").replace("-", ""):
        for result in (as_json, as_text):
            assert "1111" in result.out
            for shown in (CARD, CARD.replace(" ", ""), CARD.replace(" ", "-"), "4111111111"):
                assert shown not in result.output


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 45
    assert len({c.id for c in CASES}) == len(CASES)
