"""The examples validate, and the JSON Schemas are what editors and the spec expect."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from zplan.load.catalog import load_catalog
from zplan.load.document import FileKind, load_file

from tests.conftest import EXAMPLES, ROOT, TODAY, Zplan

SCHEMAS = ROOT / "schemas"
SCHEMA_NAMES = ["subscription.schema.json", "catalog.schema.json", "plan.schema.json"]
DEFAULT_CATALOG = ROOT / "zplan" / "catalogs" / "zendesk-list-2026-11.yaml"
MODELINE = "# yaml-language-server: $schema="


def yaml_files() -> list[Path]:
    """What ``zplan validate examples/`` reads: YAML files, dot-files and dot-directories left out."""
    found = [*EXAMPLES.rglob("*.yaml"), *EXAMPLES.rglob("*.yml")]
    return sorted(
        p for p in found if not any(part.startswith(".") for part in p.relative_to(EXAMPLES).parts)
    )


@functools.cache
def example_files() -> list[Path]:
    """The zplan files among the examples (subscriptions and catalogs; CI workflows are not)."""
    return [p for p in yaml_files() if load_file(p).kind is not FileKind.OTHER]


@functools.cache
def account_files() -> list[Path]:
    return [p for p in yaml_files() if load_file(p).kind is FileKind.SUBSCRIPTION]


def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return loaded


def test_there_are_examples() -> None:
    assert len(account_files()) >= 10
    assert set((EXAMPLES / "accounts").glob("*.yaml")) <= set(account_files())
    assert (EXAMPLES / "catalogs" / "acme-negotiated.yaml") in example_files()


def test_every_example_validates(zplan: Zplan) -> None:
    # Each file named on the command line, so that none can be skipped as "not a zplan file".
    files = [str(path) for path in example_files()]
    result = zplan("--at", TODAY, "validate", "--format", "json", *files)
    assert result.code == 0, result.output
    document = json.loads(result.out)
    assert document["valid"] is True
    assert document["error_count"] == 0
    assert [d for d in document["diagnostics"] if d["severity"] == "error"] == []
    text = zplan("--at", TODAY, "validate", *files)
    assert text.out.endswith(f"{len(files)} files checked: valid.\n"), text.output


def test_every_example_account_also_validates_with_the_negotiated_catalog(zplan: Zplan) -> None:
    catalog = str(EXAMPLES / "catalogs" / "acme-negotiated.yaml")
    accounts = [str(path) for path in sorted((EXAMPLES / "accounts").glob("*.yaml"))]
    result = zplan("--at", TODAY, "--catalog", catalog, "validate", *accounts)
    assert result.code == 0, result.output


def test_the_examples_directory_validates_as_a_whole(zplan: Zplan) -> None:
    result = zplan("--at", TODAY, "validate", str(EXAMPLES))
    assert result.code == 0, result.output
    skipped = len(yaml_files()) - len(example_files())
    note = {0: "", 1: "note: skipped 1 file that is not a zplan file\n"}.get(
        skipped, f"note: skipped {skipped} files that are not zplan files\n"
    )
    assert result.out == f"{note}{len(example_files())} files checked: valid.\n"


@pytest.mark.parametrize("path", account_files(), ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_every_example_account_has_the_schema_modeline(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(MODELINE)
    target = first.removeprefix(MODELINE)
    assert not Path(target).is_absolute()
    assert (path.parent / target).resolve() == (SCHEMAS / "subscription.schema.json").resolve()


def test_example_catalogs_point_at_the_catalog_schema() -> None:
    for path in [*sorted((EXAMPLES / "catalogs").glob("*.yaml")), DEFAULT_CATALOG]:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith(MODELINE), path
        assert (path.parent / first.removeprefix(MODELINE)).resolve().name == "catalog.schema.json"


# The schemas ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    loaded = schema(name)
    jsonschema.Draft202012Validator.check_schema(loaded)
    assert loaded["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert loaded["$id"].endswith(f"/{name}")
    assert loaded.get("title") and loaded.get("description")


def test_schema_ids_are_distinct() -> None:
    ids = [schema(name)["$id"] for name in SCHEMA_NAMES]
    assert len(set(ids)) == len(ids)


def subschemas(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object inside ``node`` (with a JSON-pointer-like location)."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            if key in ("properties", "patternProperties", "$defs"):
                for name, child in value.items():
                    yield from subschemas(child, f"{where}/{key}/{name}")
            elif key in ("items", "additionalProperties", "not", "if", "then", "else"):
                yield from subschemas(value, f"{where}/{key}")
            elif key in ("oneOf", "anyOf", "allOf"):
                for index, child in enumerate(value):
                    yield from subschemas(child, f"{where}/{key}/{index}")


def test_subschemas_walks_the_whole_schema() -> None:
    places = dict(subschemas(schema("subscription.schema.json")))
    assert "#/properties/products/properties/suite" in places
    assert "#/$defs/product/properties/addons/patternProperties/^[a-z][a-z0-9_]*$" in places
    assert "#/$defs/addon_quantity/oneOf/1" in places


def test_every_subscription_property_has_a_title_and_a_description() -> None:
    missing = [
        f"{where}/properties/{name}: {', '.join(k for k in ('title', 'description') if k not in p)}"
        for where, node in subschemas(schema("subscription.schema.json"))
        for name, p in node.get("properties", {}).items()
        if not (p.get("title") and p.get("description"))
    ]
    assert missing == []


@pytest.mark.parametrize("name", ["subscription.schema.json", "catalog.schema.json"])
def test_every_fixed_shape_object_is_closed(name: str) -> None:
    """An object schema that lists its properties refuses others (typos are errors)."""
    open_objects = [
        where
        for where, node in subschemas(schema(name))
        if "properties" in node
        and node.get("type") == "object"
        and node.get("additionalProperties") is not False
    ]
    assert open_objects == []


def test_the_listed_ids_are_the_default_catalogs_ids() -> None:
    """The schema lists the default catalog's product and add-on ids for editors to complete."""
    loaded = schema("subscription.schema.json")
    catalog = load_catalog(None)
    products = loaded["properties"]["products"]["properties"]
    addons = loaded["$defs"]["product"]["properties"]["addons"]["properties"]
    assert list(products) == list(catalog.products)
    assert list(addons) == list(catalog.addons)
    # Other ids are allowed, so that a customer's own catalog works.
    assert loaded["properties"]["products"]["patternProperties"]
    assert loaded["$defs"]["product"]["properties"]["addons"]["patternProperties"]


def test_the_listed_ids_describe_the_default_catalogs_names() -> None:
    loaded = schema("subscription.schema.json")
    catalog = load_catalog(None)
    products = loaded["properties"]["products"]["properties"]
    addons = loaded["$defs"]["product"]["properties"]["addons"]["properties"]
    for product_id, entry in products.items():
        assert entry["title"] == catalog.products[product_id].name
    for addon_id, entry in addons.items():
        assert entry["title"] == catalog.addons[addon_id].name


def test_the_default_catalog_validates_against_the_catalog_schema() -> None:
    document = load_file(DEFAULT_CATALOG)
    assert document.diagnostics == []
    validator = jsonschema.Draft202012Validator(schema("catalog.schema.json"))
    assert [error.message for error in validator.iter_errors(document.data)] == []


def test_the_example_catalog_validates_against_the_catalog_schema() -> None:
    document = load_file(EXAMPLES / "catalogs" / "acme-negotiated.yaml")
    assert document.diagnostics == []
    validator = jsonschema.Draft202012Validator(schema("catalog.schema.json"))
    assert [error.message for error in validator.iter_errors(document.data)] == []


@pytest.mark.parametrize("path", account_files(), ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_every_example_account_validates_against_the_schema_alone(path: Path) -> None:
    """What an editor checks, with nothing of zplan's own: the schema file by itself."""
    document = load_file(path)
    assert document.diagnostics == []
    validator = jsonschema.Draft202012Validator(schema("subscription.schema.json"))
    assert [error.message for error in validator.iter_errors(document.data)] == []


def test_the_schema_alone_refuses_what_editors_should_flag() -> None:
    validator = jsonschema.Draft202012Validator(schema("subscription.schema.json"))
    document = load_file(EXAMPLES / "accounts" / "acme.yaml")
    data = document.data
    assert validator.is_valid(data)
    assert not validator.is_valid({**data, "zplan": 2})
    assert not validator.is_valid({**data, "colour": "blue"})
    assert not validator.is_valid({**data, "billing": {**data["billing"], "cycle": "yearly"}})
    assert not validator.is_valid({**data, "products": {"Suite": {"edition": "team", "agents": 1}}})
    suite = {**data["products"]["suite"], "seats": 3}
    assert not validator.is_valid({**data, "products": {"suite": suite}})
