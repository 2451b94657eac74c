"""The schema compiler agrees with jsonschema on any schema of the keywords it knows.

test_fastschema.py tries zplan's own schemas; here hypothesis writes the schemas
too: unicode and hostile property names, patternProperties beside properties
and additionalProperties, enums and consts of mixed types, if/then/else,
oneOf/anyOf/not, contains, $refs.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from zplan.load.fastschema import Unsupported, compile_schema, compile_source


def _validator(schema: dict[str, Any]) -> Any:
    # As zplan.load.schema builds it: 5.0 is not an integer.
    base = jsonschema.Draft202012Validator

    def is_integer(_checker: object, instance: object) -> bool:
        return isinstance(instance, int) and not isinstance(instance, bool)

    checker = base.TYPE_CHECKER.redefine("integer", is_integer)
    return jsonschema.validators.extend(base, type_checker=checker)(schema)


def _agree(schema: dict[str, Any], values: list[Any]) -> None:
    check = compile_schema(schema)
    validator = _validator(schema)
    for value in values:
        expected = not any(True for _ in validator.iter_errors(value))
        assert check(value) == expected, (schema, value)


# Names that would break generated code pasted raw, clash with its own names
# (v1, k2, m3, _c0, _s0), or are not ASCII.
KEYS = [
    "a",
    "b",
    "é",
    "ключ",
    "🙂",
    "",
    "v",
    "v1",
    "k2",
    "m3",
    "_c0",
    "_s0",
    "isinstance",
    "True",
    "x'] or True or v['",
    'x"y',
    "a\\nb",
    "\n",
    "__class__",
]
PATTERNS = ["^a", "^[a-z]+$", "é", "\\d", "^$", "^[kmv]\\d$", "[\"']", "^.{2,}$", "b"]
TYPES = ["object", "array", "string", "integer", "number", "boolean", "null"]
NUMBERS = [0, 1, -1, 2, 0.0, -0.0, 0.5, 1.0, 1.5, 5.0, 2**70, -(2**70), 1e300]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(NUMBERS),
    st.integers(min_value=-3, max_value=3),
    st.sampled_from(KEYS),
    st.text(max_size=3),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=2)), inner, max_size=3),
    ),
    max_leaves=8,
)
sizes = st.integers(min_value=0, max_value=3)
bounds = st.sampled_from(NUMBERS)
names = st.sampled_from(KEYS)
REFS = ["#/$defs/word", "#/$defs/é x", "#/$defs/tree"]

leaf = st.fixed_dictionaries(
    {},
    optional={
        "type": st.one_of(
            st.sampled_from(TYPES),
            st.lists(st.sampled_from(TYPES), min_size=1, max_size=3, unique=True),
        ),
        "enum": st.lists(values, min_size=1, max_size=4),
        "const": values,
        "pattern": st.sampled_from(PATTERNS),
        "minLength": sizes,
        "maxLength": sizes,
        "minimum": bounds,
        "maximum": bounds,
        "exclusiveMinimum": bounds,
        "exclusiveMaximum": bounds,
        "minItems": sizes,
        "maxItems": sizes,
        "uniqueItems": st.booleans(),
        "minProperties": sizes,
        "maxProperties": sizes,
        "required": st.lists(names, max_size=3, unique=True),
        "dependentRequired": st.dictionaries(
            names, st.lists(names, max_size=2, unique=True), max_size=2
        ),
        "$ref": st.sampled_from(REFS),
        "title": st.text(max_size=5),
        "format": st.just("email"),
    },
)


def _nested(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    combined = st.fixed_dictionaries(
        {},
        optional={
            "properties": st.dictionaries(names, children, max_size=3),
            "patternProperties": st.dictionaries(st.sampled_from(PATTERNS), children, max_size=2),
            "additionalProperties": children,
            "propertyNames": children,
            "items": children,
            "contains": children,
            "minContains": sizes,
            "maxContains": sizes,
            "allOf": st.lists(children, min_size=1, max_size=2),
            "anyOf": st.lists(children, min_size=1, max_size=3),
            "oneOf": st.lists(children, min_size=1, max_size=3),
            "not": children,
            "if": children,
            "then": children,
            "else": children,
        },
    )
    return st.one_of(
        st.booleans(), st.tuples(leaf, combined).map(lambda pair: {**pair[0], **pair[1]})
    )


subschemas = st.recursive(st.one_of(st.booleans(), leaf), _nested, max_leaves=6)

# The $defs the generated schemas refer to: one recursive (a tree of lists of trees).
DEFS = {
    "word": {"type": "string", "pattern": "^[a-zé]+$", "maxLength": 3},
    "é x": {"enum": [1, "1", True, None, [1], {"a": 1.0}]},
    "tree": {"anyOf": [{"type": "integer"}, {"type": "array", "items": {"$ref": "#/$defs/tree"}}]},
}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subschemas, st.lists(values, min_size=8, max_size=8))
def test_generated_schemas_agree_with_jsonschema(schema: Any, tried: list[Any]) -> None:
    root = {"$defs": DEFS, **schema} if isinstance(schema, dict) else schema
    if isinstance(root, bool):
        root = {"$defs": DEFS, "allOf": [root]}
    _agree(root, tried)


SINK: dict[str, Any] = {
    "$defs": DEFS,
    "type": "object",
    "required": ["kind", "é"],
    "properties": {
        "kind": {"enum": ["a", 1, 1.5, True, None, ["x"], {"k": [1]}]},
        "é": {"$ref": "#/$defs/word"},
        "x'] or True or v['": {"const": 1},
        "list": {
            "type": "array",
            "items": {"$ref": "#/$defs/tree"},
            "contains": {"type": "integer", "minimum": 2},
            "minContains": 1,
            "maxContains": 2,
            "uniqueItems": True,
        },
        "one": {"oneOf": [{"type": "integer"}, {"type": "number", "maximum": 2}]},
    },
    "patternProperties": {"^a": {"type": "string"}, "b": {"not": {"const": "b"}}},
    "additionalProperties": {"type": ["integer", "null"]},
    "propertyNames": {"maxLength": 20},
    "dependentRequired": {"list": ["one"]},
    "if": {"properties": {"kind": {"const": "a"}}},
    "then": {"required": ["a"]},
    "else": {"maxProperties": 5},
}

sink_values = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["a", 1, 1.0, 1.5, True, None, ["x"], {"k": [1.0]}, {"k": [True]}]),
        "é": st.sampled_from(["ab", "abcd", "é", 1, "A"]),
    },
    optional={
        "x'] or True or v['": st.sampled_from([1, 1.0, True, "1"]),
        "list": st.lists(
            st.one_of(st.integers(0, 3), st.just([1, [2]]), st.just(True)), max_size=4
        ),
        "one": st.sampled_from([1, 1.5, 2.0, 3.0, 5, "ab", None]),
        "a": st.sampled_from(["s", 1, None]),
        "b": st.sampled_from(["b", "c", 2]),
        "z": st.sampled_from([1, None, 1.0, "z"]),
        "zb": st.sampled_from([1, "b", None]),
        "ключ🙂": st.sampled_from([1, 5.0]),
    },
)


@settings(max_examples=400, deadline=None)
@given(sink_values)
def test_every_keyword_at_once_agrees_with_jsonschema(data: dict[str, Any]) -> None:
    _agree(SINK, [data])


def test_the_kitchen_sink_accepts_and_refuses() -> None:
    check = compile_schema(SINK)
    good = {"kind": 1.0, "é": "ab", "list": [2, [1]], "one": 1.5, "zb": None}
    assert check(good)
    assert check({**good, "kind": {"k": [1.0]}})  # 1.0 is 1, deep inside too
    assert not check({**good, "kind": {"k": [True]}})  # true is not 1
    assert not check({**good, "list": [2, 2.0]})  # 2 equals 2.0: not unique
    assert not check({**good, "one": 1})  # an integer and a number below 2: both, not one
    assert check({**good, "one": 1.0})  # 1.0 is not an integer: one of them
    assert not check({**good, "x'] or True or v['": True})


def test_names_are_never_pasted_into_the_source() -> None:
    source, _constants, _root = compile_source(SINK)
    assert "x'] or True or v['" not in source.replace(repr("x'] or True or v['"), "")
    assert "^a" not in source  # patterns are constants, compiled once


@pytest.mark.parametrize(
    "schema",
    [
        {"unevaluatedProperties": False},
        {"prefixItems": [True]},
        {"type": "decimal"},
        {"$ref": "https://example.com/other.json"},
        {"properties": {"a": {"$dynamicRef": "#x"}}},
        {"items": 3},
    ],
)
def test_what_it_does_not_know_is_left_to_jsonschema(schema: dict[str, Any]) -> None:
    with pytest.raises(Unsupported):
        compile_schema(schema)


def test_deep_schemas_compile_into_several_functions() -> None:
    # Python allows 20 nested loops in one function: deep subschemas get their own.
    deep: Any = {"type": "integer"}
    value: Any = 1
    for _ in range(40):
        deep = {
            "type": "object",
            "properties": {"a": deep},
            "patternProperties": {"^b": {"type": "array", "items": {"type": "string"}}},
            "additionalProperties": False,
        }
        value = {"a": value, "b": ["x"]}
    _agree(deep, [value, {"a": value}, {"c": 1}, {"a": {"a": {"a": 1}}}])
    assert compile_source(deep)[0].count("def ") > 1
