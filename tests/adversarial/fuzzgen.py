"""The fuzzers' generators: hypothesis profiles, the values mutations put in, the
structural mutations of a YAML tree, and the edits a person would make.

The default run tries a few hundred inputs in all; ``-m slow`` more than 10,000
(``SLOW_EXAMPLES``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from zplan.load.catalog import load_catalog

from tests.adversarial.fuzzyaml import Alias, Doc, Map, Node, Scalar, Seq, Slot, slots

# Settings profiles ---------------------------------------------------------------

_COMMON: dict[str, Any] = {
    "deadline": None,  # the 2 s bound is asserted per command instead
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,  # tmp_path and friends are the same for every input
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
}
settings.register_profile("zplan-fuzz-default", max_examples=40, **_COMMON)
settings.register_profile("zplan-fuzz-slow", max_examples=1000, **_COMMON)
DEFAULT = settings.get_profile("zplan-fuzz-default")
SLOW = settings.get_profile("zplan-fuzz-slow")

# Examples per test in the slow run: 10,700 in all (see the test functions).
SLOW_EXAMPLES = {
    "text": 1500,
    "bytes": 1000,
    "data": 1500,
    "mutated": 3500,
    "mutated_text": 1500,
    "catalog": 1200,
    "plan_file": 500,
}
assert sum(SLOW_EXAMPLES.values()) >= 10_000

# Generated numbers stay below Python's int() limit of 4,300 digits: the loader refuses
# anything over 30 digits before int() sees it, and numbers past the limit are covered
# by test_regression_integer_over_4300_digits.
MAX_DIGITS = 4000

DATES = ("2026-11-27", "2027-02-28", "2027-08-15", "2029-01-31")
ACTORS = (None, "owner@acme.example", "finance@acme.example", "mallory@evil.example")


# Values the mutations put in ------------------------------------------------------

CONFUSABLES = {
    "a": "а",  # Cyrillic a
    "e": "е",
    "o": "о",
    "p": "р",
    "c": "с",
    "x": "х",
    "i": "і",
    "s": "ѕ",
    "y": "у",
    "1": "١",  # Arabic-Indic one
    "0": "０",  # fullwidth zero
    "-": "‐",  # hyphen
    "_": "＿",
    "@": "＠",
    ".": "․",  # one dot leader
}
INVISIBLES = ["\u200b", "\u00a0", "\u202e", "\ufeff", "\u2028", "\u0085", "\u200d", "\u0301"]
TRICKY_PLAIN = [
    "no",
    "yes",
    "on",
    "off",
    "No",
    "OFF",
    "y",
    "n",
    "~",
    "null",
    "Null",
    "NULL",
    "true",
    "True",
    "FALSE",
    "010",
    "0x1F",
    "0o17",
    "0b101",
    "1:30",
    "190:20:30",
    "1_000",
    "+12",
    "-0",
    "0",
    "-1",
    "5.0",
    "1e3",
    "1E+400",
    "-1e-400",
    ".5",
    "5.",
    ".inf",
    "-.Inf",
    ".NaN",
    "2026-11-27",
    "2026-11-27T10:00:00Z",
    "=",
    "<<",
    "'",
    '"',
    "!",
    "&",
    "*",
    "%",
    "@",
    "`",
    "|",
    ">",
    "- x",
    "? x",
    ": x",
    "#",
    "{",
    "}",
    "[",
    "]",
    ",",
    "---",
    "...",
    "",
    "!!python/object/apply:os.system [echo]",
    "!!binary aGVsbG8=",
    "*undefined",
]
HUGE_NUMBERS = [
    10**30,
    -(10**30),
    2**31,
    2**63,
    2**63 - 1,
    2**64 + 1,
    -(2**63) - 1,
    100_000,
    100_001,
    10**999,
    int("9" * MAX_DIGITS),
]
FLOATS = ["25.0", "1e3", "1.5", "-0.0", "1e308", "1e309", "2.5e-324", ".inf", "-.inf", ".nan"]
TAGS = [
    "!!str",
    "!!int",
    "!!float",
    "!!bool",
    "!!null",
    "!!map",
    "!!seq",
    "!!binary",
    "!!timestamp",
    "!!set",
    "!!omap",
    "!!python/object:os.system",
    "!custom",
    "!",
    "!<tag:yaml.org,2002:str>",
    "!<tag:evil.example,2026:x>",
]
KNOWN_KEYS = [
    "zplan",
    "account",
    "subdomain",
    "owner",
    "billing_admins",
    "currency",
    "billing",
    "cycle",
    "payment",
    "payment_ref",
    "promo_code",
    "agreements",
    "master_subscription_agreement",
    "privacy_policy",
    "products",
    "suite",
    "support",
    "chat",
    "guide",
    "talk",
    "edition",
    "agents",
    "addons",
    "copilot",
    "quality_assurance",
    "status",
    "catalog",
    "<<",
]
CARDS = ["4111 1111 1111 1111", "4242424242424242", "5555-5555-5555-4444", "378282246310005"]

scalar_texts = st.one_of(
    st.sampled_from(TRICKY_PLAIN),
    st.text(max_size=30),
    st.sampled_from(KNOWN_KEYS),
    st.from_regex(r"[a-z][a-z0-9_-]{0,20}", fullmatch=True),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.sampled_from(FLOATS),
    st.sampled_from(HUGE_NUMBERS).map(str),
    st.sampled_from(["x" * 10_000, "é" * 3000, "a b " * 2000]),
)


@st.composite
def scalars(draw: st.DrawFn) -> Scalar:
    return Scalar(draw(scalar_texts), draw(st.sampled_from(["plain", "double", "single", "raw"])))


def _small_nodes() -> st.SearchStrategy[Node]:
    return st.recursive(
        scalars(),
        lambda children: st.one_of(
            st.lists(children, max_size=4).map(lambda items: Seq(list(items))),
            st.lists(st.tuples(scalars(), children), max_size=4).map(
                lambda pairs: Map([[k, v] for k, v in pairs])
            ),
        ),
        max_leaves=8,
    )


small_nodes = _small_nodes()


# Structural mutations ------------------------------------------------------------

Mutation = Callable[[st.DrawFn, Doc], None]


def _pick(
    draw: st.DrawFn, doc: Doc, roles: tuple[str, ...], kinds: tuple[type, ...] = ()
) -> Slot | None:
    found = [
        s for s in slots(doc.holder) if s.role in roles and (not kinds or isinstance(s.node, kinds))
    ]
    if not found:
        return None
    return found[draw(st.integers(0, len(found) - 1))]


def _maps(draw: st.DrawFn, doc: Doc, nonempty: bool = True) -> Map | None:
    found = [
        s.node
        for s in slots(doc.holder)
        if isinstance(s.node, Map) and (s.node.pairs or not nonempty)
    ]
    if not found:
        return None
    node = found[draw(st.integers(0, len(found) - 1))]
    assert isinstance(node, Map)
    return node


def drop_key(draw: st.DrawFn, doc: Doc) -> None:
    node = _maps(draw, doc)
    if node is not None:
        index = draw(st.integers(0, len(node.pairs) - 1))
        doc.log.append(f"drop {_describe(node.pairs[index][0])}")
        del node.pairs[index]


def duplicate_key(draw: st.DrawFn, doc: Doc) -> None:
    node = _maps(draw, doc)
    if node is not None:
        pair = node.pairs[draw(st.integers(0, len(node.pairs) - 1))]
        value = copy.deepcopy(pair[1]) if draw(st.booleans()) else draw(small_nodes)
        node.pairs.insert(draw(st.integers(0, len(node.pairs))), [copy.deepcopy(pair[0]), value])
        doc.log.append(f"duplicate {_describe(pair[0])}")


def retype(draw: st.DrawFn, doc: Doc) -> None:
    slot = _pick(draw, doc, ("value", "item", "root"))
    if slot is not None:
        slot.put(draw(small_nodes))
        doc.log.append("retype")


def rename_key(draw: st.DrawFn, doc: Doc) -> None:
    slot = _pick(draw, doc, ("key",), (Scalar,))
    if slot is None:
        return
    node = slot.node
    assert isinstance(node, Scalar)
    old = node.text
    how = draw(st.integers(0, 6))
    if how == 0 and old:  # a typo
        i = draw(st.integers(0, len(old) - 1))
        new = old[:i] + old[i + 1 :]
    elif how == 1 and len(old) > 1:  # two letters swapped
        i = draw(st.integers(0, len(old) - 2))
        new = old[:i] + old[i + 1] + old[i] + old[i + 2 :]
    elif how == 2:
        new = old.upper()
    elif how == 3:
        new = draw(st.sampled_from(KNOWN_KEYS))
    elif how == 4:
        new = " " + old if draw(st.booleans()) else old + " "
    elif how == 5:
        new = with_confusable(draw, old)
    else:
        new = draw(scalar_texts)
    slot.put(Scalar(new, draw(st.sampled_from(["plain", "double", "raw"]))))
    doc.log.append(f"rename {old!r} -> {new!r}")


def nest_deeper(draw: st.DrawFn, doc: Doc) -> None:
    slot = _pick(draw, doc, ("value", "item"))
    if slot is None:
        return
    levels = draw(st.one_of(st.integers(1, 3), st.integers(60, 70), st.just(200)))
    node = slot.node
    flow = draw(st.booleans())
    for _ in range(levels):
        node = (
            Map([[Scalar("x"), node]], flow=flow) if draw(st.booleans()) else Seq([node], flow=flow)
        )
    slot.put(node)
    doc.log.append(f"nest {levels}")


def huge_number(draw: st.DrawFn, doc: Doc) -> None:
    slot = _pick(draw, doc, ("value", "item"))
    if slot is not None:
        number = draw(st.sampled_from(HUGE_NUMBERS))
        slot.put(Scalar(str(number), "raw"))
        doc.log.append(f"number {str(number)[:20]}")


def floats(draw: st.DrawFn, doc: Doc) -> None:
    slot = _pick(draw, doc, ("value", "item"))
    if slot is not None:
        slot.put(Scalar(draw(st.sampled_from(FLOATS)), "raw"))
        doc.log.append("float")


def yaml11(draw: st.DrawFn, doc: Doc) -> None:
    slot = _pick(draw, doc, ("value", "item", "key"), (Scalar,))
    if slot is not None:
        slot.put(Scalar(draw(st.sampled_from(TRICKY_PLAIN)), "raw"))
        doc.log.append("yaml 1.1 form")


def restyle(draw: st.DrawFn, doc: Doc) -> None:
    """Quote a number or a word, or unquote a string."""
    slot = _pick(draw, doc, ("value", "item", "key"), (Scalar,))
    if slot is not None:
        node = slot.node
        assert isinstance(node, Scalar)
        node.style = draw(st.sampled_from(["plain", "double", "single", "raw"]))
        doc.log.append("restyle")


def with_confusable(draw: st.DrawFn, text: str) -> str:
    positions = [i for i, ch in enumerate(text) if ch in CONFUSABLES]
    if positions and draw(st.booleans()):
        i = draw(st.sampled_from(positions))
        return text[:i] + CONFUSABLES[text[i]] + text[i + 1 :]
    i = draw(st.integers(0, len(text)))
    return text[:i] + draw(st.sampled_from(INVISIBLES)) + text[i:]


def confusable(draw: st.DrawFn, doc: Doc) -> None:
    slot = _pick(draw, doc, ("key", "value", "item"), (Scalar,))
    if slot is not None:
        node = slot.node
        assert isinstance(node, Scalar)
        node.text = with_confusable(draw, node.text)
        doc.log.append(f"confusable {node.text!r}")


def tag(draw: st.DrawFn, doc: Doc) -> None:
    slot = _pick(draw, doc, ("value", "item"), (Scalar, Seq, Map))
    if slot is not None:
        node = slot.node
        assert not isinstance(node, Alias)
        node.tag = draw(st.sampled_from(TAGS))
        doc.log.append(f"tag {node.tag}")


def alias(draw: st.DrawFn, doc: Doc) -> None:
    """Anchor one node and refer to it from another place (before or after it)."""
    every = [s for s in slots(doc.holder) if s.role in ("value", "item", "key")]
    if len(every) < 2:
        return
    source = every[draw(st.integers(0, len(every) - 1))]
    target = every[draw(st.integers(0, len(every) - 1))]
    node = source.node
    if isinstance(node, Alias) or target is source:
        return
    if node.anchor is None:
        node.anchor = doc.new_anchor()
    target.put(Alias(node.anchor))
    doc.log.append(f"alias *{node.anchor}")


def merge(draw: st.DrawFn, doc: Doc) -> None:
    """``<<: *anchor`` (or a list of them, or something that is not a mapping) in a mapping."""
    into = _maps(draw, doc, nonempty=False)
    sources = [
        s.node for s in slots(doc.holder) if s.role != "root" and not isinstance(s.node, Alias)
    ]
    if into is None or not sources:
        return
    names = []
    for _ in range(draw(st.integers(1, 3))):
        node = sources[draw(st.integers(0, len(sources) - 1))]
        if node.anchor is None:
            node.anchor = doc.new_anchor()
        names.append(node.anchor)
    value: Node = Alias(names[0]) if len(names) == 1 else Seq([Alias(n) for n in names], flow=True)
    into.pairs.insert(draw(st.integers(0, len(into.pairs))), [Scalar("<<"), value])
    doc.log.append(f"merge {names}")


def card(draw: st.DrawFn, doc: Doc) -> None:
    slot = _pick(draw, doc, ("value", "item", "key"))
    if slot is not None:
        slot.put(Scalar(draw(st.sampled_from(CARDS)), draw(st.sampled_from(["plain", "double"]))))
        doc.log.append("card number")


def flow_style(draw: st.DrawFn, doc: Doc) -> None:
    slot = _pick(draw, doc, ("value", "item", "root"), (Map, Seq))
    if slot is not None:
        node = slot.node
        assert isinstance(node, (Map, Seq))
        node.flow = not node.flow
        doc.log.append("flow")


MUTATIONS: list[Mutation] = [
    drop_key,
    duplicate_key,
    retype,
    rename_key,
    nest_deeper,
    huge_number,
    floats,
    yaml11,
    restyle,
    confusable,
    tag,
    alias,
    merge,
    card,
    flow_style,
]


def _describe(node: Node) -> str:
    return repr(node.text) if isinstance(node, Scalar) else type(node).__name__


# Edits a person would make: valid or nearly so, so that the diff and pricing run ------

CATALOG = load_catalog(None)
PROMO_CODES = [*CATALOG.promotions, "welcome10", "NOPE", "SUMMER25"]
EMAILS = [
    "owner@acme.example",
    "finance@acme.example",
    "mallory@evil.example",
    "OWNER@ACME.EXAMPLE",
    "x@y.z",
]


def semantic_edit(draw: st.DrawFn, data: dict[str, Any], log: list[str]) -> None:
    """One change of the kind an owner makes, on the plain data."""
    products = data.get("products")
    if not isinstance(products, dict):
        products = data["products"] = {}
    how = draw(st.integers(0, 11))
    if how <= 3 and products:
        pid = draw(st.sampled_from(sorted(products)))
        line = products[pid]
        editions = sorted(CATALOG.products[pid].editions) if pid in CATALOG.products else ["team"]
        if how == 0:
            line["agents"] = draw(st.one_of(st.integers(1, 120), st.integers(-5, 100_005)))
        elif how == 1:
            line["edition"] = draw(st.sampled_from(editions))
        elif how == 2:
            addons = line.setdefault("addons", {})
            addon = draw(st.sampled_from(sorted(CATALOG.addons)))
            addons[addon] = draw(st.integers(1, max(1, int(line.get("agents", 1)))))
        else:
            line.pop("addons", None)
        log.append(f"edit products.{pid} ({how})")
    elif how == 4:
        pid = draw(st.sampled_from(sorted(CATALOG.products)))
        edition = draw(st.sampled_from(sorted(CATALOG.products[pid].editions)))
        products[pid] = {"edition": edition, "agents": draw(st.integers(1, 40))}
        log.append(f"add products.{pid}")
    elif how == 5 and products:
        products.pop(draw(st.sampled_from(sorted(products))))
        log.append("remove a product")
    elif how == 6:
        data["billing"]["cycle"] = draw(st.sampled_from(["annual", "monthly"]))
        if data["billing"]["cycle"] == "monthly":
            for line in products.values():
                line.pop("addons", None)
        log.append("cycle")
    elif how == 7:
        data["billing"]["promo_code"] = draw(st.sampled_from([None, *PROMO_CODES]))
        log.append(f"promo {data['billing']['promo_code']}")
    elif how == 8:
        data["status"] = draw(st.sampled_from(["active", "cancelled"]))
        if data["status"] == "cancelled" and draw(st.booleans()):
            data.pop("products", None)
        log.append(f"status {data['status']}")
    elif how == 9:
        data["account"]["billing_admins"] = draw(
            st.lists(st.sampled_from(EMAILS), max_size=3, unique=True)
        )
        log.append("billing admins")
    elif how == 10:
        data["billing"]["payment"] = draw(st.sampled_from(["card", "paypal", "bank_debit"]))
        ref = draw(st.one_of(st.none(), st.from_regex(r"pm_[A-Za-z0-9]{4,12}", fullmatch=True)))
        data["billing"]["payment_ref"] = ref
        log.append("payment")
    else:
        data["account"][draw(st.sampled_from(["owner", "currency"]))] = draw(
            st.sampled_from([*EMAILS, "USD", "EUR", "GBP"])
        )
        log.append("owner or currency")
