"""A yes/no JSON Schema check, compiled to closures, for the common case: a valid file.

jsonschema gives zplan its diagnostics, but importing it costs about a tenth
of a second and validating one small file about a millisecond: more than
everything else zplan does for that file, and ten seconds for 10,000 files.
Most files are valid. So a schema is compiled here into plain Python
functions that answer only "valid?"; when the answer is no, jsonschema runs
and says exactly what and where.

Only the keywords zplan's own schemas use are compiled. A schema with any
other keyword raises ``Unsupported`` and is always left to jsonschema. The
property tests check that this answer equals jsonschema's on generated and
mutated documents.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]

_ANNOTATIONS = {
    "$schema",
    "$id",
    "$defs",
    "title",
    "description",
    "examples",
    "default",
    "$comment",
    "format",
}


class Unsupported(Exception):
    """The schema uses a keyword this compiler does not know."""


def _is_type(kind: str) -> Check:
    # The same types as zplan.schema's validator: 5.0 is not an integer, true is not a number.
    if kind == "object":
        return lambda value: isinstance(value, dict)
    if kind == "array":
        return lambda value: isinstance(value, list)
    if kind == "string":
        return lambda value: isinstance(value, str)
    if kind == "integer":
        return lambda value: isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return lambda value: isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return lambda value: isinstance(value, bool)
    if kind == "null":
        return lambda value: value is None
    raise Unsupported(f"type {kind!r}")


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1, 1 is 1.0, containers compare deeply."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False
    return bool(a == b) and (isinstance(a, str) == isinstance(b, str))


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Compiler:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}
        self.done: set[str] = set()

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return lambda value: True
        if schema is False:
            return lambda value: False
        if not isinstance(schema, Mapping):
            raise Unsupported("a schema that is not an object")
        checks: list[Check] = []
        for keyword, argument in schema.items():
            if keyword in _ANNOTATIONS:
                continue
            build = getattr(self, "k_" + keyword.replace("$", ""), None)
            if build is None:
                raise Unsupported(keyword)
            check = build(argument, schema)  # None: folded into another keyword
            if check is not None:
                checks.append(check)
        if not checks:
            return lambda value: True
        if len(checks) == 1:
            return checks[0]
        # A plain loop: the check of every value of every file runs through here.
        if len(checks) == 2:
            one, two = checks
            return lambda value: one(value) and two(value)

        def every(value: Any) -> bool:
            for check in checks:  # noqa: SIM110 - a loop is faster than all() over a generator
                if not check(value):
                    return False
            return True

        return every

    # Keywords -------------------------------------------------------------------

    def k_ref(self, ref: str, _schema: Any) -> Check:
        if not ref.startswith("#/"):
            raise Unsupported(f"$ref {ref}")
        if ref in self.done:  # compiled already: called directly
            return self.refs[ref]
        if ref not in self.refs:
            self.refs[ref] = lambda value: True  # placeholder while compiling (recursion)
            target: Any = self.root
            for part in ref[2:].split("/"):
                target = target[part]
            compiled = self.compile(target)
            self.refs[ref] = compiled
            self.done.add(ref)
            return compiled
        refs = self.refs
        return lambda value: refs[ref](value)  # noqa: PLW0108 - late-bound: the ref may still be compiling

    def k_type(self, kind: str | list[str], _schema: Any) -> Check:
        kinds = [kind] if isinstance(kind, str) else list(kind)
        checks = [_is_type(k) for k in kinds]
        if len(checks) == 1:
            return checks[0]
        return lambda value: any(check(value) for check in checks)

    def k_enum(self, options: list[Any], _schema: Any) -> Check:
        if all(isinstance(option, str) for option in options):  # the usual case: words
            words = frozenset(options)
            return lambda value: isinstance(value, str) and value in words
        return lambda value: any(_equal(value, option) for option in options)

    def k_const(self, expected: Any, _schema: Any) -> Check:
        return lambda value: _equal(value, expected)

    def k_properties(self, properties: Mapping[str, Any], _schema: Any) -> Check:
        compiled = {name: self.compile(sub) for name, sub in properties.items()}

        pairs = tuple(compiled.items())

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            for name, sub in pairs:  # noqa: SIM110 - as above
                if name in value and not sub(value[name]):
                    return False
            return True

        return check

    def k_patternProperties(self, patterns: Mapping[str, Any], _schema: Any) -> Check:
        compiled = [(re.compile(p), self.compile(sub)) for p, sub in patterns.items()]

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            for key, item in value.items():
                for pattern, sub in compiled:
                    if pattern.search(key) and not sub(item):
                        return False
            return True

        return check

    def k_additionalProperties(self, extra: Any, schema: Mapping[str, Any]) -> Check:
        known = set(schema.get("properties", {}))
        patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
        sub = self.compile(extra)
        if extra is False and not patterns:  # the usual case: only the known keys
            frozen = frozenset(known)
            return lambda value: not isinstance(value, dict) or value.keys() <= frozen

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            for key, item in value.items():
                if key in known or any(p.search(key) for p in patterns):
                    continue
                if not sub(item):
                    return False
            return True

        return check

    def k_propertyNames(self, names: Any, _schema: Any) -> Check:
        sub = self.compile(names)
        return lambda value: not isinstance(value, dict) or all(sub(k) for k in value)

    def k_required(self, names: list[str], _schema: Any) -> Check:
        wanted = frozenset(names)
        return lambda value: not isinstance(value, dict) or value.keys() >= wanted

    def k_dependentRequired(self, needs: Mapping[str, list[str]], _schema: Any) -> Check:
        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            return all(
                all(n in value for n in names) for key, names in needs.items() if key in value
            )

        return check

    def k_minProperties(self, bound: int, _schema: Any) -> Check:
        return lambda value: not isinstance(value, dict) or len(value) >= bound

    def k_maxProperties(self, bound: int, _schema: Any) -> Check:
        return lambda value: not isinstance(value, dict) or len(value) <= bound

    def k_items(self, items: Any, _schema: Any) -> Check:
        sub = self.compile(items)
        return lambda value: not isinstance(value, list) or all(sub(item) for item in value)

    def k_contains(self, item: Any, schema: Mapping[str, Any]) -> Check:
        sub = self.compile(item)
        low = schema.get("minContains", 1)
        high = schema.get("maxContains")

        def check(value: Any) -> bool:
            if not isinstance(value, list):
                return True
            count = sum(1 for element in value if sub(element))
            return count >= low and (high is None or count <= high)

        return check

    def k_minContains(self, _bound: int, _schema: Any) -> None:
        return None  # compiled with "contains"

    def k_maxContains(self, _bound: int, _schema: Any) -> None:
        return None  # compiled with "contains"

    def k_minItems(self, bound: int, _schema: Any) -> Check:
        return lambda value: not isinstance(value, list) or len(value) >= bound

    def k_maxItems(self, bound: int, _schema: Any) -> Check:
        return lambda value: not isinstance(value, list) or len(value) <= bound

    def k_uniqueItems(self, unique: bool, _schema: Any) -> Check | None:
        if not unique:
            return None

        def check(value: Any) -> bool:
            if not isinstance(value, list):
                return True
            return not any(_equal(a, b) for i, a in enumerate(value) for b in value[i + 1 :])

        return check

    def k_minimum(self, bound: float, _schema: Any) -> Check:
        return lambda value: not _number(value) or value >= bound

    def k_maximum(self, bound: float, _schema: Any) -> Check:
        return lambda value: not _number(value) or value <= bound

    def k_exclusiveMinimum(self, bound: float, _schema: Any) -> Check:
        return lambda value: not _number(value) or value > bound

    def k_exclusiveMaximum(self, bound: float, _schema: Any) -> Check:
        return lambda value: not _number(value) or value < bound

    def k_minLength(self, bound: int, _schema: Any) -> Check:
        return lambda value: not isinstance(value, str) or len(value) >= bound

    def k_maxLength(self, bound: int, _schema: Any) -> Check:
        return lambda value: not isinstance(value, str) or len(value) <= bound

    def k_pattern(self, pattern: str, _schema: Any) -> Check:
        search = re.compile(pattern).search
        return lambda value: not isinstance(value, str) or search(value) is not None

    def k_oneOf(self, options: list[Any], _schema: Any) -> Check:
        subs = [self.compile(option) for option in options]
        return lambda value: sum(1 for sub in subs if sub(value)) == 1

    def k_anyOf(self, options: list[Any], _schema: Any) -> Check:
        subs = [self.compile(option) for option in options]
        return lambda value: any(sub(value) for sub in subs)

    def k_allOf(self, options: list[Any], _schema: Any) -> Check:
        subs = [self.compile(option) for option in options]
        return lambda value: all(sub(value) for sub in subs)

    def k_if(self, condition: Any, schema: Mapping[str, Any]) -> Check:
        test = self.compile(condition)
        then = self.compile(schema.get("then", True))
        otherwise = self.compile(schema.get("else", True))
        return lambda value: then(value) if test(value) else otherwise(value)

    def k_then(self, _then: Any, _schema: Any) -> None:
        return None  # compiled with "if"

    def k_else(self, _else: Any, _schema: Any) -> None:
        return None  # compiled with "if"

    def k_not(self, option: Any, _schema: Any) -> Check:
        sub = self.compile(option)
        return lambda value: not sub(value)


def compile_schema(schema: Mapping[str, Any]) -> Check:
    """A function that says whether a value is valid; ``Unsupported`` if it cannot."""
    return Compiler(schema).compile(schema)
