"""The compiled yes/no schema check agrees with jsonschema, on every document tried."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from zplan.load import schema
from zplan.load.document import load_file
from zplan.load.fastschema import Unsupported, compile_schema

from tests.conftest import EXAMPLES


def _jsonschema_valid(name: str, data: Any) -> bool:
    return not any(True for _ in schema._validator(name).iter_errors(data))


VALID = [load_file(p).data for p in sorted((EXAMPLES / "accounts").glob("*.yaml"))]

# Values a YAML file can hold: what the loader produces.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(
        [
            "annual",
            "monthly",
            "card",
            "paypal",
            "accepted",
            "suite",
            "professional",
            "team",
            "owner@acme.example",
            "acme",
            "USD",
            "EUR",
            "WELCOME10",
            "pm_1234",
            "",
            "x",
            "Acme!",
            "cancelled",
            "active",
        ]
    ),
    st.text(max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(
                ["edition", "agents", "addons", "copilot", "x", "subdomain", "owner", "cycle"]
            ),
            inner,
            max_size=3,
        ),
    ),
    max_leaves=6,
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    """A valid example with one to three values replaced, removed or added."""
    data = copy.deepcopy(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(_paths(data)))
        if not path:
            continue
        parent = data
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        last = path[-1]
        if action == "replace":
            parent[last] = draw(values)
        elif action == "remove" and isinstance(parent, dict):
            del parent[last]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "edition", "agents", "copilot"]))] = draw(values)
    return data


@pytest.mark.parametrize("name", [schema.SUBSCRIPTION, schema.CATALOG, schema.PLAN])
def test_zplan_schemas_compile(name: str) -> None:
    compile_schema(schema.load_schema(name))


def test_unknown_keywords_are_left_to_jsonschema() -> None:
    with pytest.raises(Unsupported):
        compile_schema({"type": "object", "unevaluatedProperties": False})


@pytest.mark.parametrize("data", VALID, ids=[str(i) for i in range(len(VALID))])
def test_examples_are_valid_for_both(data: Any) -> None:
    assert schema.is_valid(schema.SUBSCRIPTION, data)
    assert _jsonschema_valid(schema.SUBSCRIPTION, data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_same_answer_as_jsonschema_on_mutated_files(data: Any) -> None:
    assert schema.is_valid(schema.SUBSCRIPTION, data) == _jsonschema_valid(
        schema.SUBSCRIPTION, data
    )


@settings(max_examples=300, deadline=None)
@given(values)
def test_same_answer_as_jsonschema_on_arbitrary_values(data: Any) -> None:
    assert schema.is_valid(schema.SUBSCRIPTION, data) == _jsonschema_valid(
        schema.SUBSCRIPTION, data
    )


def test_same_answer_on_the_catalogs() -> None:
    for path in [
        Path(schema.__file__).parent.parent / "catalogs" / "zendesk-list-2026-11.yaml",
        EXAMPLES / "catalogs" / "acme-negotiated.yaml",
    ]:
        data = load_file(path).data
        assert schema.is_valid(schema.CATALOG, data) and _jsonschema_valid(schema.CATALOG, data)
        broken = copy.deepcopy(data)
        broken["products"]["suite"]["editions"]["team"]["price"]["USD"]["annual"] = 55.0
        assert not schema.is_valid(schema.CATALOG, broken)
        assert not _jsonschema_valid(schema.CATALOG, broken)
