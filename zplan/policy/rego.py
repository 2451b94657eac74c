"""Rego policies, evaluated in-process with regopy (the rego-cpp interpreter), conftest-style.

The rules follow conftest's conventions: ``package main``, and sets named
``deny``, ``violation`` or ``warn`` (or starting ``deny_``, ``violation_``,
``warn_``) whose members are messages (strings, or objects with a ``msg``).
regopy is imported here only, and this module only when policies are given.
The modules are compiled once per process into a bundle; each evaluation then
only sets the input (about half a millisecond for one account).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from zplan.errors import ZplanError
from zplan.policy.findings import Level

# Collects the rule sets of package main into one object (undefined rules are left out).
_COLLECT = """package zplan_collect
import rego.v1

results := {name: values |
    some name, values in data.main
    regex.match(`^(deny|violation|warn)(_[A-Za-z0-9_]+)?$`, name)
}
"""
_QUERY = "x := data.zplan_collect.results"
_ERROR = re.compile(
    r"\(error \d+:(?P<file>[^|\s]*)\|(?P<offset>\d+)\|\d+\s*\(errormsg \d+:(?P<msg>[^)\n]*)"
)


# Which of an account's fields the policies can read. rego-cpp parses its input at about
# half a megabyte a second, so an account's whole plan (2-3 kB) costs more than planning
# it; the policies get the fields they name, nothing they cannot reach. The objects below
# have the plan schema's keys (True: keep the value whole, its keys are data, such as
# product ids); a field is kept when its name is a word of some module.
_T = True
_CONFIG: dict[str, Any] = {"cycle": _T, "status": _T, "products": _T}
_RECURRING: dict[str, Any] = {"cycle": _T, "per_cycle": _T, "monthly": _T}
_ACCOUNT: dict[str, Any] = {
    "config": {"path": _T, "sha256": _T},
    "prior": {"now": _CONFIG, "next": _CONFIG},
    "changes": {},
    "invoice": {"lines": {}, "renewals": {"lines": {}}},
    "totals": {"recurring_before": _RECURRING, "recurring_after": _RECURRING, "proration": {}},
    "diagnostics": {},
    "desired": {"config": _CONFIG, "payment": {}},
}
# Rules that reach fields without naming them: with one of these, accounts go whole.
_DYNAMIC = re.compile(
    r"\bwalk\(|json\.(marshal|filter|remove|patch)|yaml\.marshal|object\.(keys|filter|remove|"
    r"union|get|subset)|\bprint\(|\bsome\s+\w+\s*,\s*\w+\s+in\s+(account|acc|a)\b(?![.\[\w])"
)


def _prune(value: Any, spec: Any, words: frozenset[str]) -> Any:
    if spec is True:
        return value
    if isinstance(value, list):
        return [_prune(item, spec, words) for item in value]
    if isinstance(value, dict):
        return {k: _prune(v, spec.get(k, True), words) for k, v in value.items() if k in words}
    return value


class PolicyError(ZplanError):
    """The policy set cannot be used: a file does not load, or a Rego module does not compile."""


class RegoSet:
    """Rego modules and their data, compiled once per process."""

    def __init__(self, modules: Sequence[tuple[str, str]], data: Sequence[Mapping[str, Any]]):
        self.modules = tuple(modules)
        self.data = tuple(data)
        texts = "\n".join(text for _, text in self.modules)
        self.words: frozenset[str] | None = (
            None
            if _DYNAMIC.search(texts)
            else frozenset(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", re.sub(r"#[^\n]*", "", texts)))
        )
        self._pid = -1
        self._interpreter: Any = None
        self._bundle: Any = None

    def _compiled(self) -> tuple[Any, Any]:
        # A forked worker compiles its own: the interpreter is C state of the parent.
        if self._pid != os.getpid():
            self._interpreter, self._bundle = self._compile()
            self._pid = os.getpid()
        return self._interpreter, self._bundle

    def _compile(self) -> tuple[Any, Any]:
        try:
            import regopy
        except ImportError:
            raise PolicyError(
                "Rego policies need regopy, which is not installed",
                hint="pip install 'zplan[policy]' (or pip install regopy)",
            ) from None
        interpreter = regopy.Interpreter()
        texts = dict(self.modules)
        try:
            for name, text in self.modules:
                interpreter.add_module(name, text)
            interpreter.add_module("zplan_collect.rego", _COLLECT)
            for item in self.data:
                interpreter.add_data(dict(item))
            bundle = interpreter.build(_QUERY)
        except regopy.RegoError as exc:
            raise PolicyError(_describe(str(exc), texts)) from None
        if not bundle.ok():
            raise PolicyError("the Rego policies could not be compiled")
        return interpreter, bundle

    def shape(self, account: Mapping[str, Any]) -> Any:
        """The account as the policies see it: the fields they name (all, for dynamic rules)."""
        if self.words is None:
            return account
        return _prune(account, _ACCOUNT, self.words)

    def check(self) -> None:
        """Compile now, so that a broken module is reported before any planning."""
        self._compiled()

    def evaluate(self, document: Mapping[str, Any]) -> list[tuple[Level, str, str]]:
        """(level, rule, message) for every member of the deny/violation/warn sets."""
        import regopy

        interpreter, bundle = self._compiled()
        try:
            # As JSON text: parsed in C, several times faster than regopy's walk of the dict.
            interpreter.set_input_term(json.dumps(document, ensure_ascii=False))
            output = interpreter.query_bundle(bundle)
        except regopy.RegoError as exc:
            raise PolicyError(
                f"a Rego policy failed: {_describe(str(exc), dict(self.modules))}"
            ) from None
        if not output.ok():
            return []
        try:
            results = json.loads(output.binding("x").json())
        except (KeyError, ValueError, AttributeError):
            return []
        found = []
        for rule in sorted(results):
            level = Level.WARN if rule.startswith("warn") else Level.DENY
            values = results[rule]
            for value in values if isinstance(values, list) else [values]:
                found.append((level, rule, _message(value)))
        return found


def _message(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("msg"), str):
        return str(value["msg"])
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _describe(error: str, texts: Mapping[str, str]) -> str:
    """rego-cpp's error tree as one line: FILE:LINE:COLUMN: message."""
    match = _ERROR.search(error)
    if match is None:
        first = next((line.strip() for line in error.splitlines() if line.strip()), "")
        return f"the Rego policies could not be compiled: {first}"
    name, offset, message = match["file"], int(match["offset"]), match["msg"].strip()
    text = texts.get(name)
    if text is None:
        return f"the Rego policies could not be compiled: {message}"
    before = text[:offset]
    line = before.count("\n") + 1
    column = offset - (before.rfind("\n") + 1) + 1
    return f"{name}:{line}:{column}: {message}"
