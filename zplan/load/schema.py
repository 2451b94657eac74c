"""JSON Schema validation of loaded documents, reported as positioned diagnostics.

The schemas ship inside the package (``zplan.schemas``, the repository's
``schemas/`` folder). jsonschema is imported on first use: commands that
validate nothing do not pay for it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from zplan.diagnostics import Diagnostic, did_you_mean
from zplan.load.document import Document

SUBSCRIPTION = "subscription.schema.json"
CATALOG = "catalog.schema.json"
PLAN = "plan.schema.json"


# Installed, the schemas are the package zplan.schemas; in a source checkout (an editable
# install), the repository's own schemas/ folder beside zplan/.
_HERE = Path(__file__).parent.parent  # the zplan package
_SCHEMAS = _HERE / "schemas" if (_HERE / "schemas").is_dir() else _HERE.parent / "schemas"


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    text = (_SCHEMAS / name).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _fast(name: str) -> Callable[[Any], bool] | None:
    """The compiled yes/no check of a schema (None: only jsonschema can check it)."""
    from zplan.load.fastschema import Unsupported, compile_schema

    try:
        return compile_schema(load_schema(name))
    except Unsupported:
        return None


def is_valid(name: str, data: Any) -> bool:
    """Whether ``data`` is valid, by the fast check where there is one (tests compare both)."""
    fast = _fast(name)
    if fast is not None:
        return fast(data)
    return not any(True for _ in _validator(name).iter_errors(data))


@functools.cache
def _validator(name: str) -> Any:
    import jsonschema

    base = jsonschema.Draft202012Validator

    def is_integer(_checker: object, instance: object) -> bool:
        # Draft 2020-12 counts 5.0 as an integer; a subscription file must not.
        return isinstance(instance, int) and not isinstance(instance, bool)

    checker = base.TYPE_CHECKER.redefine("integer", is_integer)
    validator_class = jsonschema.validators.extend(base, type_checker=checker)
    return validator_class(load_schema(name))


def validate_data(name: str, data: Any) -> list[str]:
    """Messages of every schema error in ``data`` (for documents zplan writes itself)."""
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
        for error in _validator(name).iter_errors(data)
    ]


Steps = tuple[str | int, ...]

# A value of the wrong type also breaks its enum, const or bounds: say the first only.
_TYPE_CODES = {"wrong-type", "not-an-integer"}


def check(document: Document, name: str) -> list[Diagnostic]:
    """Validate a loaded document against the named schema."""
    return [diagnostic for _, diagnostic in check_located(document, name)]


def check_located(document: Document, name: str) -> list[tuple[Steps, Diagnostic]]:
    """Like ``check``, each diagnostic with the path of what it is about (a missing key's too)."""
    if document.data is None:
        return []
    fast = _fast(name)
    if fast is not None and fast(document.data):
        return []  # valid: jsonschema need not be imported, let alone run
    validator = _validator(name)
    found: list[tuple[Steps, Diagnostic]] = []
    for error in validator.iter_errors(document.data):
        found.extend(_diagnose(document, error))
    mistyped = {steps for steps, d in found if d.code in _TYPE_CODES}
    return [(steps, d) for steps, d in found if d.code in _TYPE_CODES or steps not in mistyped]


def _diagnose(document: Document, error: Any) -> Iterator[tuple[Steps, Diagnostic]]:
    path = tuple(error.absolute_path)
    kind = error.validator
    instance = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}

    if kind in ("oneOf", "anyOf") and error.context:
        yield from _diagnose_alternatives(document, error, path)
        return
    if kind == "additionalProperties" and isinstance(instance, dict):
        known = list(schema.get("properties", {}))
        patterns = list(schema.get("patternProperties", {}))
        import re

        for key in instance:
            if key in known or any(re.search(p, key) for p in patterns):
                continue
            hint = did_you_mean(key, known) if known else None
            if hint is None and patterns:
                hint = "ids are lower-case letters, digits and underscores, starting with a letter"
            elif hint is None and known:
                hint = f"allowed here: {', '.join(known)}"
            yield (
                (*path, key),
                document.error((*path, key), "unknown-key", f"unknown key '{key}'", hint, key=True),
            )
        return
    if kind == "required" and isinstance(instance, dict):
        for missing in error.validator_value:
            if missing in instance:
                continue
            description = schema.get("properties", {}).get(missing, {}).get("description")
            yield (
                (*path, missing),
                document.error(path, "missing-key", f"'{missing}' is required", description),
            )
        return
    message, hint, code = _explain(kind, error, instance, schema)
    yield path, document.error(path, code, message, hint)


def _diagnose_alternatives(
    document: Document, error: Any, path: Steps
) -> Iterator[tuple[Steps, Diagnostic]]:
    instance = error.instance
    # Say what fits, not why each alternative fails.
    described = error.schema.get("description") if isinstance(error.schema, dict) else None
    if isinstance(instance, float) and instance.is_integer():
        yield (
            path,
            document.error(
                path,
                "not-an-integer",
                f"{_show(instance)} is not a whole number",
                f"write {int(instance)}",
            ),
        )
        return
    deepest = max(error.context, key=lambda e: len(e.absolute_path))
    if len(deepest.absolute_path) > len(error.absolute_path):
        yield from _diagnose(document, deepest)
        return
    yield (
        path,
        document.error(path, "invalid-value", f"{_show(instance)} is not allowed here", described),
    )


def _explain(
    kind: str, error: Any, instance: Any, schema: dict[str, Any]
) -> tuple[str, str | None, str]:
    description = schema.get("description")
    if kind == "type":
        expected = error.validator_value
        wanted = expected if isinstance(expected, str) else " or ".join(expected)
        if wanted == "integer" and isinstance(instance, float) and instance.is_integer():
            return (
                f"{_show(instance)} is not a whole number",
                f"write {int(instance)}",
                "not-an-integer",
            )
        if (
            "string" in wanted
            and isinstance(instance, (int, float))
            and not isinstance(instance, bool)
        ):
            return (
                f"expected a string, got the number {_show(instance)}",
                f'quote it: "{_show(instance)}"',
                "wrong-type",
            )
        return (
            f"expected {_article(wanted)}, got {_describe(instance)}",
            description,
            "wrong-type",
        )
    if kind == "enum":
        options = [str(o) for o in error.validator_value]
        hint = did_you_mean(str(instance), options) if isinstance(instance, str) else None
        if isinstance(instance, bool):
            hint = f"write one of {', '.join(options)} (in quotes if your editor insists)"
        return (
            f"{_show(instance)} is not one of {', '.join(options)}",
            hint or description,
            "invalid-value",
        )
    if kind == "const":
        return (
            f"{_show(instance)} must be {_show(error.validator_value)}",
            description,
            "invalid-value",
        )
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        bound = {
            "minimum": "at least",
            "maximum": "at most",
            "exclusiveMinimum": "more than",
            "exclusiveMaximum": "less than",
        }[kind]
        return (
            f"{_show(instance)} must be {bound} {error.validator_value}",
            description,
            "out-of-range",
        )
    if kind == "pattern":
        return f"{_show(instance)} is not in the right form", description, "invalid-format"
    if kind in ("minLength", "maxLength"):
        bound = "at least" if kind == "minLength" else "at most"
        return (
            f"{_show(instance)} must be {bound} {error.validator_value} characters",
            description,
            "invalid-format",
        )
    if kind == "minProperties":
        return "must not be empty", description, "empty"
    if kind in ("minItems", "maxItems"):
        return error.message, description, "invalid-value"
    if kind == "uniqueItems":
        return "lists the same value twice", description, "duplicate-item"
    return str(error.message), description, "schema"


def _article(word: str) -> str:
    names = {
        "object": "a mapping",
        "array": "a list",
        "string": "a string",
        "integer": "a whole number",
        "number": "a number",
        "boolean": "true or false",
        "null": "null",
    }
    return " or ".join(names.get(part, part) for part in word.split(" or "))


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {_show(value)}"
    if isinstance(value, str):
        return f"the string {_show(value)}"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"'{shown}'"
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    return str(value)
