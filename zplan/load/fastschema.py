"""A yes/no JSON Schema check, compiled to Python source, for the common case: a valid file.

jsonschema gives zplan its diagnostics, but importing it costs about a tenth
of a second and validating one small file about a millisecond: more than
everything else zplan does for that file, and ten seconds for 10,000 files.
Most files are valid. So a schema is compiled here into plain Python
functions that answer only "valid?"; when the answer is no, jsonschema runs
and says exactly what and where.

The compiler writes Python source, one function per ``$ref`` target (and per
subschema that must answer yes or no inside ``oneOf``, ``anyOf``, ``not``,
``if`` or ``contains``, or that nests deeper than ``_INLINE_DEPTH``), each a
straight run of ``if ...: return False`` statements: a nested object's checks
are written inline in its parent's function, a ``$ref`` is a direct call. The source is compiled once, at first
use, from the schemas zplan ships (never from a file being checked). Nothing
of the schema is pasted into the source raw: names and words go through
``repr()``, patterns and other values are passed in as constants.

Only the keywords zplan's own schemas use are compiled. A schema with any
other keyword raises ``Unsupported`` and is always left to jsonschema. The
property tests check that this answer equals jsonschema's on generated and
mutated documents. The values checked are what the YAML loader makes (dict,
list, str, int, float, bool, None): JSON equality holds for them (true is not
1, 1 is 1.0, 5.0 is not an integer).
"""

from __future__ import annotations

import json
import math
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

# Keywords compiled together with another one ("then" with "if"...), or by their group.
_KEYWORDS = {
    "$ref",
    "type",
    "enum",
    "const",
    "properties",
    "patternProperties",
    "additionalProperties",
    "propertyNames",
    "required",
    "dependentRequired",
    "minProperties",
    "maxProperties",
    "items",
    "contains",
    "minContains",
    "maxContains",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "oneOf",
    "anyOf",
    "allOf",
    "if",
    "then",
    "else",
    "not",
}

_OBJECT_KEYWORDS = (
    "properties",
    "patternProperties",
    "additionalProperties",
    "propertyNames",
    "required",
    "dependentRequired",
    "minProperties",
    "maxProperties",
)
_ARRAY_KEYWORDS = ("items", "contains", "minItems", "maxItems", "uniqueItems")
_STRING_KEYWORDS = ("minLength", "maxLength", "pattern")
_NUMBER_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")

# What each JSON type is, as a Python expression over a variable ("{}"): the same
# types as jsonschema's validator in zplan.load.schema (5.0 is not an integer, true
# is not a number). A bool is True or False: identity is cheaper than isinstance.
_TYPES = {
    "object": "isinstance({0}, dict)",
    "array": "isinstance({0}, list)",
    "string": "isinstance({0}, str)",
    "integer": "(isinstance({0}, int) and {0} is not True and {0} is not False)",
    "number": "(isinstance({0}, (int, float)) and {0} is not True and {0} is not False)",
    "boolean": "({0} is True or {0} is False)",
    "null": "{0} is None",
}
_NUMBER = _TYPES["number"]


# Deeper subschemas get a function of their own.
_INLINE_DEPTH = 8


class Unsupported(Exception):
    """The schema uses a keyword this compiler does not know."""


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


def _one_of(value: Any, options: tuple[Any, ...]) -> bool:
    return any(_equal(value, option) for option in options)


def _unique(items: list[Any]) -> bool:
    if all(type(item) is str for item in items):  # the usual case: a set says it
        return len(set(items)) == len(items)
    return not any(_equal(a, b) for i, a in enumerate(items) for b in items[i + 1 :])


class _Node:
    """One check of a value: ``test`` must hold; or, with ``lines``, statements that
    return False when the value is invalid (loops, bindings: not an expression);
    or, with ``inner``, checks that apply only when ``test`` holds (a type guard)."""

    __slots__ = ("inner", "lines", "test")

    def __init__(
        self, test: str = "", lines: tuple[str, ...] = (), inner: tuple[_Node, ...] | None = None
    ) -> None:
        self.test = test
        self.lines = lines
        self.inner = inner


def _statements(nodes: list[_Node] | tuple[_Node, ...], indent: str) -> list[str]:
    out: list[str] = []
    tests: list[str] = []  # a run of plain tests: one "if" (less source to compile)
    for node in (*nodes, None):
        if node is not None and not node.lines and node.inner is None:
            tests.append(node.test)
            continue
        if tests:
            if "False" in tests:
                out.append(f"{indent}return False")
            else:
                joined = " and ".join(f"({test})" for test in tests) if len(tests) > 1 else tests[0]
                out += [f"{indent}if not ({joined}):", f"{indent}    return False"]
            tests = []
        if node is None:
            break
        if node.lines:
            out.extend(indent + line for line in node.lines)
        else:
            body = _statements(node.inner or (), indent + "    ")
            if body:
                out.append(f"{indent}if {node.test}:")
                out.extend(body)
    return out


def _expression(nodes: list[_Node] | tuple[_Node, ...]) -> str | None:
    """The nodes as one boolean expression, or None when one of them is statements."""
    parts: list[str] = []
    for node in nodes:
        if node.lines:
            return None
        if node.inner is not None:
            inner = _expression(node.inner)
            if inner is None:
                return None
            if inner != "True":
                parts.append(f"(not ({node.test}) or ({inner}))")
        else:
            parts.append(f"({node.test})")
    return " and ".join(parts) if parts else "True"


def _canonical(schema: Any) -> str:
    """A schema's checks as text, annotations left out: equal texts, equal checks."""
    if isinstance(schema, Mapping):
        schema = {k: v for k, v in schema.items() if k not in _ANNOTATIONS}
    return json.dumps(schema, sort_keys=True)


class _Function:
    """Local variable names of one generated function."""

    def __init__(self) -> None:
        self.count = 0
        self.depth = 0  # subschemas written inline, one inside the other

    def local(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"


class Compiler:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self.constants: dict[str, Any] = {"_equal": _equal, "_one_of": _one_of, "_unique": _unique}
        self.functions: list[str] = []
        self.refs: dict[str, str] = {}  # "#/$defs/x" -> the name of its function
        self.inline: dict[int, str] = {}  # id(subschema) -> the name of its function

    # The generated module ---------------------------------------------------------

    def source(self) -> tuple[str, str]:
        """The module's source and the name of the root schema's function."""
        root = self.function(self.root)
        return "\n".join(self.functions) + "\n", root

    def constant(self, value: Any) -> str:
        name = f"_c{len(self.constants)}"
        self.constants[name] = value
        return name

    def literal(self, value: Any) -> str:
        """A scalar written into the source (repr() of a str, int... is a literal), else a constant."""
        if value is None or isinstance(value, (bool, str)):
            return repr(value)
        if isinstance(value, int) and abs(value) < 10**18:
            return repr(value)
        if isinstance(value, float) and math.isfinite(value):
            return repr(value)
        return self.constant(value)

    def search(self, pattern: str) -> str:
        return self.constant(re.compile(pattern).search)

    def function(self, schema: Any, ref: str | None = None) -> str:
        """The name of a function checking ``schema``, written once."""
        if ref is not None:
            if ref in self.refs:
                return self.refs[ref]
        elif id(schema) in self.inline:
            return self.inline[id(schema)]
        name = f"_s{len(self.refs) + len(self.inline)}"
        if ref is not None:
            self.refs[ref] = name  # before the body: a recursive $ref calls it
        else:
            self.inline[id(schema)] = name
        body = _statements(self.nodes(schema, "v", _Function()), "    ")
        self.functions.append("\n".join([f"def {name}(v):", *body, "    return True", ""]))
        return name

    def boolean(self, schema: Any, var: str) -> str:
        """An expression: whether ``var`` is valid against ``schema``."""
        expression = _expression(self.nodes(schema, var, _Function()))
        if expression is not None:
            return expression
        return f"{self.function(schema)}({var})"

    # Subschemas -------------------------------------------------------------------

    def nodes(self, schema: Any, var: str, fn: _Function) -> list[_Node]:
        """The checks of ``var`` against ``schema``, all of which must hold."""
        if schema is True:
            return []
        if schema is False:
            return [_Node("False")]
        if not isinstance(schema, Mapping):
            raise Unsupported("a schema that is not an object")
        for keyword in schema:
            if keyword not in _KEYWORDS and keyword not in _ANNOTATIONS:
                raise Unsupported(keyword)
        if fn.depth >= _INLINE_DEPTH:  # Python nests at most 20 loops in one function
            return [_Node(f"{self.function(schema)}({var})")]
        fn.depth += 1
        try:
            return self.inline_nodes(schema, var, fn)
        finally:
            fn.depth -= 1

    def inline_nodes(self, schema: Mapping[str, Any], var: str, fn: _Function) -> list[_Node]:
        nodes: list[_Node] = []
        kinds: set[str] | None = None  # the types var can have past the "type" check
        if "type" in schema:
            named = schema["type"]
            kinds = {named} if isinstance(named, str) else set(named)
            for kind in kinds:
                if kind not in _TYPES:
                    raise Unsupported(f"type {kind!r}")
            tests = [_TYPES[kind].format(var) for kind in sorted(kinds)]
            nodes.append(_Node(" or ".join(tests) if tests else "False"))
        nodes.extend(self.general(schema, var, kinds, fn))
        groups = (
            ({"object"}, _TYPES["object"], _OBJECT_KEYWORDS, self.object),
            ({"array"}, _TYPES["array"], _ARRAY_KEYWORDS, self.array),
            ({"string"}, _TYPES["string"], _STRING_KEYWORDS, self.string),
            ({"integer", "number"}, _NUMBER, _NUMBER_KEYWORDS, self.number),
        )
        for types, test, keywords, build in groups:
            if not any(keyword in schema for keyword in keywords):
                continue
            checks = build(schema, var, fn)
            if kinds and kinds <= types:  # the type is checked already
                nodes.extend(checks)
            elif checks:
                nodes.append(_Node(test.format(var), inner=tuple(checks)))
        return nodes

    def general(
        self, schema: Mapping[str, Any], var: str, kinds: set[str] | None, fn: _Function
    ) -> list[_Node]:
        nodes: list[_Node] = []
        if "$ref" in schema:
            ref = schema["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/"):
                raise Unsupported(f"$ref {ref}")
            target: Any = self.root
            for part in ref[2:].split("/"):
                target = target[part]
            nodes.append(_Node(f"{self.function(target, ref)}({var})"))
        if "enum" in schema:
            options = schema["enum"]
            if all(isinstance(option, str) for option in options):  # the usual case: words
                words = self.constant(frozenset(options))
                if kinds == {"string"}:
                    nodes.append(_Node(f"{var} in {words}"))
                else:
                    nodes.append(_Node(f"isinstance({var}, str) and {var} in {words}"))
            else:
                nodes.append(_Node(f"_one_of({var}, {self.constant(tuple(options))})"))
        if "const" in schema:
            nodes.append(_Node(self.const(schema["const"], var, kinds)))
        for option in schema.get("allOf", ()):
            nodes.extend(self.nodes(option, var, fn))
        if "anyOf" in schema:
            options = [self.boolean(option, var) for option in schema["anyOf"]]
            nodes.append(_Node(" or ".join(f"({o})" for o in options) or "False"))
        if "oneOf" in schema:
            nodes.append(_Node(lines=self.exactly_one(schema["oneOf"], var)))
        if "not" in schema:
            nodes.append(_Node(f"not ({self.boolean(schema['not'], var)})"))
        if "if" in schema:
            then = _statements(self.nodes(schema.get("then", True), var, fn), "    ")
            otherwise = _statements(self.nodes(schema.get("else", True), var, fn), "    ")
            lines = [f"if {self.boolean(schema['if'], var)}:", *(then or ["    pass"])]
            if otherwise:
                lines += ["else:", *otherwise]
            nodes.append(_Node(lines=tuple(lines)))
        return nodes

    def const(self, expected: Any, var: str, kinds: set[str] | None) -> str:
        """JSON equality with one value, written out for a scalar."""
        if expected is None:
            return f"{var} is None"
        if isinstance(expected, bool):
            return f"{var} is {expected!r}"
        if isinstance(expected, str):
            if kinds == {"string"}:
                return f"{var} == {self.literal(expected)}"
            return f"isinstance({var}, str) and {var} == {self.literal(expected)}"
        if isinstance(expected, (int, float)):
            if kinds and kinds <= {"integer", "number"}:  # neither a bool nor a str
                return f"{var} == {self.literal(expected)}"
            return (
                f"{var} == {self.literal(expected)}"
                f" and not isinstance({var}, (bool, str, dict, list))"
            )
        return f"_equal({var}, {self.constant(expected)})"

    def exactly_one(self, options: list[Any], var: str) -> tuple[str, ...]:
        """oneOf: after the first option that holds, none of the others may."""
        tests = [self.boolean(option, var) for option in options]
        if not tests:
            return ("return False",)
        lines: list[str] = []
        for i, test in enumerate(tests):
            lines.append(f"{'if' if i == 0 else 'elif'} {test}:")
            rest = tests[i + 1 :]
            if rest:
                lines.append(f"    if {' or '.join(f'({r})' for r in rest)}:")
                lines.append("        return False")
            else:
                lines.append("    pass")
        lines += ["else:", "    return False"]
        return tuple(lines)

    # Keywords of one type, var known to be of it -------------------------------------

    def object(self, schema: Mapping[str, Any], var: str, fn: _Function) -> list[_Node]:
        nodes: list[_Node] = []
        properties: Mapping[str, Any] = schema.get("properties", {})
        patterns: Mapping[str, Any] = schema.get("patternProperties", {})
        required = list(schema.get("required", ()))
        extra = schema.get("additionalProperties", True)
        key, item = fn.local("k"), fn.local("v")
        matches = [
            (pattern, _statements(self.nodes(sub, item, fn), "        "))
            for pattern, sub in patterns.items()
        ]
        rest = [] if extra is False and not patterns else self.nodes(extra, item, fn)
        loop = bool(rest) or any(body for _, body in matches)  # a loop over the keys
        # A known key whose matching patterns ask only what its property asks is checked
        # once, in the loop (zplan's products: "suite" and "^[a-z][a-z0-9_]*$").
        done = self.redundant(properties, patterns) if loop else frozenset()
        groups: dict[str, tuple[Any, list[str]]] = {}
        for name, sub in properties.items():
            key_text = self.literal(name)
            if name in done:
                groups.setdefault(_canonical(sub), (sub, []))[1].append(name)
                if name in required:
                    nodes.append(_Node(f"{key_text} in {var}"))
                continue
            nodes.extend(self.property(key_text, sub, name in required, var, fn))
        for name in required:
            if name not in properties:
                nodes.append(_Node(f"{self.literal(name)} in {var}"))
        if loop:
            lines = [f"for {key}, {item} in {var}.items():"]
            for sub, names in groups.values():
                if len(names) == 1:
                    test = f"{key} == {self.literal(names[0])}"
                else:
                    test = f"{key} in {self.constant(frozenset(names))}"
                body = _statements(self.nodes(sub, item, fn), "        ")
                lines += [f"    if {test}:", *body, "        continue"]
            lines += self.unknown_key(key, matches, rest, frozenset(properties) - done)
            nodes.append(_Node(lines=tuple(lines)))
        elif extra is False and not patterns:
            nodes.append(_Node(self.only_known(schema, properties, var)))
        if "propertyNames" in schema:
            name_var = fn.local("k")
            body = _statements(self.nodes(schema["propertyNames"], name_var, fn), "    ")
            if body:
                nodes.append(_Node(lines=(f"for {name_var} in {var}:", *body)))
        for name, needs in schema.get("dependentRequired", {}).items():
            wanted = " and ".join(f"{self.literal(n)} in {var}" for n in needs) or "True"
            nodes.append(_Node(f"{self.literal(name)} not in {var} or ({wanted})"))
        if "minProperties" in schema:
            nodes.append(_Node(f"len({var}) >= {self.literal(schema['minProperties'])}"))
        if "maxProperties" in schema:
            nodes.append(_Node(f"len({var}) <= {self.literal(schema['maxProperties'])}"))
        return nodes

    def property(self, key: str, sub: Any, required: bool, var: str, fn: _Function) -> list[_Node]:
        """One property's checks; ``key`` is its name as a literal."""
        item = fn.local("v")
        # Written first with a stand-in for the value that no literal can hold (repr()
        # escapes NUL), then with the variable, or with var[key] if it is looked at once.
        stand_in = f"\0{item}\0"
        checks = self.nodes(sub, stand_in, fn)
        expression = _expression(checks) if checks else None
        if expression is not None and expression.count(stand_in) == 1:
            # One look at the value (a $ref, say): no variable, one test with the others.
            expression = expression.replace(stand_in, f"{var}[{key}]")
            if required:
                return [_Node(f"{key} in {var} and ({expression})")]
            return [_Node(f"{key} not in {var} or ({expression})")]
        if required:
            if not checks:
                return [_Node(f"{key} in {var}")]
            lines = [f"{item} = {var}[{key}]", *_statements(checks, "")]
            lines = [line.replace(stand_in, item) for line in lines]
            return [_Node(f"{key} in {var}"), _Node(lines=tuple(lines))]
        if not checks:
            return []
        lines = [f"if {key} in {var}:", f"    {item} = {var}[{key}]", *_statements(checks, "    ")]
        return [_Node(lines=tuple(line.replace(stand_in, item) for line in lines))]

    def redundant(
        self, properties: Mapping[str, Any], patterns: Mapping[str, Any]
    ) -> frozenset[str]:
        """Properties whose every matching pattern asks the same as the property, or nothing."""
        compiled = [(re.compile(p), _canonical(sub)) for p, sub in patterns.items()]
        return frozenset(
            name
            for name, sub in properties.items()
            if isinstance(name, str)
            and all(
                p_sub in ("true", "{}", _canonical(sub)) for p, p_sub in compiled if p.search(name)
            )
        )

    def unknown_key(
        self,
        key: str,
        matches: list[tuple[str, list[str]]],
        rest: list[_Node],
        known: frozenset[str],
    ) -> list[str]:
        """The loop's body for a key not checked yet: patternProperties, additionalProperties."""
        item_rest = _statements(rest, "        ")
        outside = f"{key} not in {self.constant(known)}" if known else ""
        tests = [(f"{self.search(pattern)}({key}) is not None", body) for pattern, body in matches]
        lines: list[str] = []
        if len(tests) == 1 and item_rest:
            test, body = tests[0]
            lines += [f"    if {test}:", *(body or ["        pass"])]
            lines += [f"    elif {outside}:" if outside else "    else:", *item_rest]
            return lines
        matched = ""
        if item_rest:
            matched = f"m{key[1:]}"  # k3 -> m3: this function's own
            lines.append(f"    {matched} = False")
        for test, body in tests:
            if matched or body:
                lines += [f"    if {test}:", *body]
                if matched:
                    lines.append(f"        {matched} = True")
        if item_rest:
            outside = f" and {outside}" if outside else ""
            lines += [f"    if not {matched}{outside}:", *item_rest]
        return lines

    def only_known(self, schema: Mapping[str, Any], properties: Mapping[str, Any], var: str) -> str:
        """No key but the properties: counted, the required ones being there (tested before)."""
        required = set(schema.get("required", ())) & set(properties)
        optional = [name for name in properties if name not in required]
        if len(optional) > 4:
            return f"{self.constant(frozenset(properties))}.issuperset({var})"
        present = "".join(f" + ({self.literal(name)} in {var})" for name in optional)
        return f"len({var}) == {len(required)}{present}"

    def array(self, schema: Mapping[str, Any], var: str, fn: _Function) -> list[_Node]:
        nodes: list[_Node] = []
        if "items" in schema:
            item = fn.local("v")
            body = _statements(self.nodes(schema["items"], item, fn), "    ")
            if body:
                nodes.append(_Node(lines=(f"for {item} in {var}:", *body)))
        if "contains" in schema:
            item, count = fn.local("v"), fn.local("n")
            low = self.literal(schema.get("minContains", 1))
            lines = [
                f"{count} = 0",
                f"for {item} in {var}:",
                f"    if {self.boolean(schema['contains'], item)}:",
                f"        {count} += 1",
                f"if not {count} >= {low}:",
                "    return False",
            ]
            if schema.get("maxContains") is not None:
                high = self.literal(schema["maxContains"])
                lines += [f"if not {count} <= {high}:", "    return False"]
            nodes.append(_Node(lines=tuple(lines)))
        if "minItems" in schema:
            nodes.append(_Node(f"len({var}) >= {self.literal(schema['minItems'])}"))
        if "maxItems" in schema:
            nodes.append(_Node(f"len({var}) <= {self.literal(schema['maxItems'])}"))
        if schema.get("uniqueItems"):
            nodes.append(_Node(f"_unique({var})"))
        return nodes

    def string(self, schema: Mapping[str, Any], var: str, _fn: _Function) -> list[_Node]:
        nodes: list[_Node] = []
        if "minLength" in schema:
            nodes.append(_Node(f"len({var}) >= {self.literal(schema['minLength'])}"))
        if "maxLength" in schema:
            nodes.append(_Node(f"len({var}) <= {self.literal(schema['maxLength'])}"))
        if "pattern" in schema:
            nodes.append(_Node(f"{self.search(schema['pattern'])}({var}) is not None"))
        return nodes

    def number(self, schema: Mapping[str, Any], var: str, _fn: _Function) -> list[_Node]:
        # Written "not (v >= bound)": NaN (a YAML .nan) fails here, as it did in the closures;
        # jsonschema lets it through, and, a "no" here handing over to it, has the last word.
        operators = {
            "minimum": ">=",
            "maximum": "<=",
            "exclusiveMinimum": ">",
            "exclusiveMaximum": "<",
        }
        return [
            _Node(f"{var} {operator} {self.literal(schema[keyword])}")
            for keyword, operator in operators.items()
            if keyword in schema
        ]


def compile_source(schema: Mapping[str, Any]) -> tuple[str, dict[str, Any], str]:
    """The Python source of a schema's check, its constants, and its root function's name."""
    compiler = Compiler(schema)
    source, root = compiler.source()
    return source, compiler.constants, root


def compile_schema(schema: Mapping[str, Any]) -> Check:
    """A function that says whether a value is valid; ``Unsupported`` if it cannot."""
    source, constants, root = compile_source(schema)
    namespace: dict[str, Any] = dict(constants)
    exec(compile(source, "<zplan.load.fastschema>", "exec"), namespace)  # noqa: S102 - source written above from a shipped schema
    check: Check = namespace[root]
    return check
