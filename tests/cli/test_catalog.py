"""``zplan catalog``: the price book as text, as the JSON contract, and compared.

The prices are checked against the public facts in /work/shared/catalog-facts.md
(read here, not copied), so that the shipped catalog and the facts stay in step.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, Result, Zplan

FACTS = Path("/work/shared/catalog-facts.md")
NEGOTIATED = EXAMPLES / "catalogs" / "acme-negotiated.yaml"
PRICE = re.compile(r"^[0-9]+\.[0-9]{2}$")


@dataclass(frozen=True)
class EditionFact:
    product: str
    edition: str
    annual: Decimal
    monthly: Decimal
    source: str | None  # None: an estimate


@dataclass(frozen=True)
class AddonFact:
    addon: str
    annual: Decimal
    source: str | None


def _rows(text: str, heading: str) -> list[list[str]]:
    """The body rows of the first table under ``heading``."""
    section = text.split(heading, 1)[1]
    rows: list[list[str]] = []
    for line in section.splitlines():
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if set("".join(cells)) <= set("-: "):
            continue  # the separator row
        rows.append(cells)
    return rows[1:]  # without the header row


def _source(cell: str) -> str | None:
    return None if "*estimate*" in cell else cell


def edition_facts() -> list[EditionFact]:
    rows = _rows(FACTS.read_text(encoding="utf-8"), "## Editions")
    return [
        EditionFact(
            product.split(" (")[0], edition, Decimal(annual), Decimal(monthly), _source(source)
        )
        for product, edition, annual, monthly, source in rows
    ]


def addon_facts() -> list[AddonFact]:
    rows = _rows(FACTS.read_text(encoding="utf-8"), "## Add-ons")
    return [AddonFact(addon, Decimal(annual), _source(source)) for addon, annual, _, source in rows]


def light_agent_facts() -> dict[str, int]:
    text = FACTS.read_text(encoding="utf-8").split("## Light agents", 1)[1]
    found = re.search(r"Suite Growth ([\d,]+), Professional ([\d,]+), Enterprise ([\d,]+)", text)
    assert found is not None and "Suite Team includes none" in text
    growth, professional, enterprise = (int(n.replace(",", "")) for n in found.groups())
    return {"team": 0, "growth": growth, "professional": professional, "enterprise": enterprise}


def test_the_facts_are_read() -> None:
    editions = edition_facts()
    assert len(editions) == 15
    assert (
        EditionFact(
            "suite",
            "team",
            Decimal(55),
            Decimal(69),
            "zendesk.com/pricing as transcribed on 2026-10-07",
        )
        in editions
    )
    assert {f.product for f in editions} == {"suite", "support", "chat", "guide", "talk"}
    assert len(addon_facts()) == 6
    assert light_agent_facts()["enterprise"] == 1000


def catalog_json(zplan: Zplan, *options: str) -> dict[str, Any]:
    result = zplan(*options, "catalog", "--format", "json")
    assert result.code == 0, result.output
    loaded: dict[str, Any] = json.loads(result.out)
    return loaded


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output
    assert "unexpected error" not in result.output


# The JSON contract ---------------------------------------------------------------------


def test_json_top_level(zplan: Zplan) -> None:
    catalog = catalog_json(zplan)
    assert list(catalog) == ["catalog", "as_of", "currencies", "products", "addons", "promotions"]
    assert catalog["catalog"] == "zendesk-list-2026-11"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", catalog["as_of"])
    assert catalog["currencies"] == ["USD"]


def test_json_products_and_editions(zplan: Zplan) -> None:
    catalog = catalog_json(zplan)
    products = catalog["products"]
    assert list(products) == ["suite", "support", "chat", "guide", "talk"]
    assert products["suite"]["replaces"] == ["support", "chat", "guide", "talk"]
    for product_id, product in products.items():
        assert set(product) <= {"name", "replaces", "editions"}, product_id
        assert product["name"]
        for edition_id, edition in product["editions"].items():
            where = f"{product_id}.{edition_id}"
            assert {"name", "price", "min_agents", "max_agents", "included_light_agents"} <= set(
                edition
            ), where
            assert set(edition) <= {
                "name",
                "price",
                "source",
                "estimate",
                "estimate_note",
                "min_agents",
                "max_agents",
                "included_light_agents",
                "features",
            }, where
            assert ("source" in edition) != ("estimate" in edition), where
            assert edition.get("estimate", True) is True
            assert list(edition["price"]) == catalog["currencies"]
            for cycles in edition["price"].values():
                assert list(cycles) == ["annual", "monthly"], where
                assert all(PRICE.fullmatch(amount) for amount in cycles.values()), cycles
            assert isinstance(edition["min_agents"], int) and edition["min_agents"] >= 1
            assert edition["max_agents"] is None or isinstance(edition["max_agents"], int)
            assert isinstance(edition["included_light_agents"], int)
            assert all(isinstance(f, str) and f for f in edition["features"]), where


def test_json_addons(zplan: Zplan) -> None:
    catalog = catalog_json(zplan)
    addons = catalog["addons"]
    for addon_id, addon in addons.items():
        assert {"name", "unit", "cycles", "price", "available_on"} <= set(addon), addon_id
        assert ("source" in addon) != ("estimate" in addon), addon_id
        assert addon["unit"] in ("agent", "account")
        for cycles in addon["price"].values():
            assert list(cycles) == addon["cycles"], addon_id
            assert all(PRICE.fullmatch(amount) for amount in cycles.values())
        for product_id, lowest in addon["available_on"].items():
            assert lowest in catalog["products"][product_id]["editions"], addon_id
    # No add-on has a published monthly price: all are sold on annual billing only.
    assert {tuple(a["cycles"]) for a in addons.values()} == {("annual",)}


def test_json_promotions(zplan: Zplan) -> None:
    catalog = catalog_json(zplan)
    promotions = catalog["promotions"]
    assert {"WELCOME10", "STARTUP50", "SUMMER25"} <= set(promotions)
    for code, promotion in promotions.items():
        assert ("percent_off" in promotion) != ("amount_off" in promotion), code
        if "percent_off" in promotion:
            assert Decimal(promotion["percent_off"]) > 0
        else:
            assert all(PRICE.fullmatch(a) for a in promotion["amount_off"].values())
        duration = promotion["duration"]
        assert duration in ("once", "forever") or (
            set(duration) == {"cycles"} and duration["cycles"] >= 1
        ), code
        expires = promotion["expires"]
        assert expires is None or re.fullmatch(r"\d{4}-\d{2}-\d{2}", expires), code
        # null means every product (pricing.md: omitted = all); given, it names products.
        assert set(promotion["applies_to"] or []) <= set(catalog["products"]), code
        assert promotion["requires_cycle"] in ("annual", "monthly", None), code
        assert isinstance(promotion["void_on_downgrade"], bool), code
    startup = promotions["STARTUP50"]
    assert (startup["requires_cycle"], startup["void_on_downgrade"]) == ("monthly", True)


def test_edition_prices_are_the_public_facts(zplan: Zplan) -> None:
    products = catalog_json(zplan)["products"]
    facts = edition_facts()
    in_catalog = [(p, e) for p, product in products.items() for e in product["editions"]]
    assert in_catalog == [(f.product, f.edition) for f in facts]  # same editions, in rank order
    for fact in facts:
        edition = products[fact.product]["editions"][fact.edition]
        price = edition["price"]["USD"]
        assert (Decimal(price["annual"]), Decimal(price["monthly"])) == (fact.annual, fact.monthly)
        if fact.source is None:
            assert edition.get("estimate") is True and "source" not in edition
        else:
            assert edition["source"] == fact.source


def test_addon_prices_are_the_public_facts(zplan: Zplan) -> None:
    addons = catalog_json(zplan)["addons"]
    facts = addon_facts()
    assert list(addons) == [f.addon for f in facts]
    for fact in facts:
        addon = addons[fact.addon]
        assert addon["price"] == {"USD": {"annual": f"{fact.annual:.2f}"}}
        if fact.source is None:
            assert addon.get("estimate") is True and "source" not in addon
        else:
            assert addon["source"] == fact.source


def test_light_agents_are_the_public_facts(zplan: Zplan) -> None:
    suite = catalog_json(zplan)["products"]["suite"]["editions"]
    light = {edition_id: e["included_light_agents"] for edition_id, e in suite.items()}
    assert light == light_agent_facts()


def test_the_catalog_option_and_variable_select_another_catalog(
    zplan: Zplan, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = catalog_json(zplan, "--catalog", str(NEGOTIATED))
    assert chosen["catalog"] == "acme-negotiated-2026"
    assert chosen["currencies"] == ["USD", "EUR"]
    assert chosen["addons"]["sandbox_premium"]["unit"] == "account"
    assert chosen["products"]["suite"]["editions"]["team"]["price"]["EUR"]["annual"] == "43.01"

    monkeypatch.setenv("ZPLAN_CATALOG", str(NEGOTIATED))
    assert catalog_json(zplan) == chosen
    text = zplan("catalog")
    assert text.out.startswith(
        "Catalog acme-negotiated-2026 (as of 2026-09-30; currencies USD, EUR)"
    )
    # The option wins over the variable.
    monkeypatch.setenv("ZPLAN_CATALOG", "no-such-catalog.yaml")
    assert catalog_json(zplan, "--catalog", str(NEGOTIATED)) == chosen


# Text ----------------------------------------------------------------------------------


def test_text_mentions_every_product_and_edition(zplan: Zplan) -> None:
    result = zplan("catalog")
    assert result.code == 0, result.output
    products = catalog_json(zplan)["products"]
    lines = result.out.splitlines()
    for product_id, product in products.items():
        assert f"{product_id}: {product['name']}" in result.out
        for edition in product["editions"].values():
            [line] = [line for line in lines if line.endswith(f"  {edition['name']}")]
            usd = edition["price"]["USD"]
            assert f"${usd['annual']}" in line and f"${usd['monthly']}" in line, line
            assert ("*" in line) == bool(edition.get("estimate")), line
    for addon_id in catalog_json(zplan)["addons"]:
        assert f"  {addon_id} " in result.out
    assert "Promotions:" in result.out


def test_text_states_each_promotions_terms(zplan: Zplan) -> None:
    lines = zplan("catalog").out.splitlines()
    promotions = lines[lines.index("Promotions:") + 1 :]
    assert "  ANNUAL100    $100.00 off; one invoice; annual billing only; expires 2027-03-31" in (
        promotions
    )
    assert (
        "  STARTUP50    50% off suite; 6 billing cycles; monthly billing only; expires never; "
        "void on downgrade"
    ) in promotions
    assert "  LOYALTY5     5% off; every invoice; expires never" in promotions


def test_compare_suite(zplan: Zplan) -> None:
    result = zplan("catalog", "compare", "suite")
    assert result.code == 0, result.output
    lines = result.out.splitlines()
    assert lines[0] == "Zendesk Suite: editions compared (USD, excluding tax)"
    facts = [f for f in edition_facts() if f.product == "suite"]
    header = lines[2]
    names = ["Suite Team", "Suite Growth", "Suite Professional", "Suite Enterprise"]
    assert [header.index(name) for name in names] == sorted(header.index(name) for name in names)

    def row(label: str) -> list[str]:
        [line] = [line for line in lines if line.startswith(label)]
        return line[len(label) :].split()

    assert row("Annual billing, per agent/mo") == [f"${f.annual:.2f}" for f in facts]
    assert row("Monthly billing, per agent/mo") == [f"${f.monthly:.2f}" for f in facts]
    savings = row("Annual saving")
    for fact, saving in zip(facts, savings[::2], strict=True):
        assert saving == f"${(fact.monthly - fact.annual) * 12:.2f}/agent/yr"
    light = light_agent_facts()
    assert row("Light agents included") == [f"{light[e]:,}" for e in light]
    assert "estimated price" in result.out  # Growth and Enterprise are estimates


def test_compare_in_another_currency(zplan: Zplan) -> None:
    result = zplan(
        "--catalog", str(NEGOTIATED), "catalog", "compare", "support", "--currency", "EUR"
    )
    assert result.code == 0, result.output
    assert "Zendesk Support: editions compared (EUR, excluding tax)" in result.out
    assert "€14.86" in result.out and "€19.55" in result.out


def test_compare_an_unknown_product(zplan: Zplan) -> None:
    result = zplan("catalog", "compare", "suit")
    assert result.code == 1
    assert "'suit' is not a product of the catalog zendesk-list-2026-11" in result.err
    assert "did you mean 'suite'?" in result.err
    no_traceback(result)
    far = zplan("catalog", "compare", "crm")
    assert far.code == 1
    assert "products: suite, support, chat, guide, talk" in far.err


def test_compare_in_a_currency_the_catalog_lacks(zplan: Zplan) -> None:
    result = zplan("catalog", "compare", "suite", "--currency", "GBP")
    assert result.code == 1
    assert "has no prices in GBP" in result.err
    no_traceback(result)


# A broken catalog ----------------------------------------------------------------------


def broken_catalog(tmp_path: Path) -> str:
    text = NEGOTIATED.read_text(encoding="utf-8")
    text = text.replace('annual: "46.75"', "annual: 46.75", 1)
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    return path.name


@pytest.mark.parametrize(
    "command", [["catalog"], ["catalog", "--format", "json"], ["catalog", "compare", "suite"]]
)
def test_a_broken_catalog_is_refused_with_a_position(
    zplan: Zplan, tmp_path: Path, command: list[str]
) -> None:
    name = broken_catalog(tmp_path)
    result = zplan("--catalog", name, *command)
    assert result.code == 1
    assert result.out == ""
    assert (
        f"the catalog {name} is not valid: {name}:22:31: "
        "products.suite.editions.team.price.USD.annual: expected a string, got the number 46.75"
    ) in result.err
    assert f"run: zplan validate {name}" in result.err
    no_traceback(result)


def test_a_broken_catalog_from_the_environment(
    zplan: Zplan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZPLAN_CATALOG", broken_catalog(tmp_path))
    result = zplan("catalog")
    assert result.code == 1
    assert "broken.yaml:22:31:" in result.err
    no_traceback(result)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("", "broken.yaml:1:1: (file): the file is empty"),
        ("catalog: [x\n", "broken.yaml:1:10: catalog: the '[' opened here is not closed"),
        ("zplan: 1\n", "broken.yaml:1:1: (file): this file is not a catalog"),
        (
            "catalog: x\nas_of: 2026-01-01\ncurrencies: [USD]\nproducts: {}\n",
            "broken.yaml:4:11: products: must not be empty",
        ),
        ("catalog: x\ncatalog: y\n", "broken.yaml:2:1: catalog: the key 'catalog' appears twice"),
    ],
)
def test_broken_catalogs(zplan: Zplan, tmp_path: Path, content: str, says: str) -> None:
    (tmp_path / "broken.yaml").write_text(content, encoding="utf-8")
    result = zplan("--catalog", "broken.yaml", "catalog")
    assert result.code == 1
    assert says in result.err, result.err
    no_traceback(result)


def test_a_missing_catalog_file(zplan: Zplan) -> None:
    result = zplan("--catalog", "nowhere.yaml", "catalog")
    assert result.code == 1
    assert "nowhere.yaml" in result.err and "cannot read the file" in result.err
    no_traceback(result)
