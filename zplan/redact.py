"""What must never be shown: card numbers, secrets in URLs, invisible characters.

One mechanism for card numbers, used by the loader (files that hold one are
refused) and by every output (a number that reaches one anyway, from a
command-line argument, say, is masked as ``•••• 1111``). A card number is 13
to 19 digits that pass the Luhn check, written with or without single
separators between groups: any kind of space (no line break) or ``-``; or
``.``, ``_`` or ``:`` between groups of three or more digits, as cards are
printed. Identifiers zplan makes itself (UUIDs, hex digests such as
plan ids, audit heads and lock ids) are not masked, so they stay usable.

Imports nothing from zplan: every stage may use it.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from typing import NamedTuple
from urllib.parse import urlsplit, urlunsplit

# One separator between groups of digits: a space of any kind (not a line break), - . _ :
SEPARATOR = r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000._:-]"
_SEPARATORS = re.compile(SEPARATOR)
# Runs of digits with single separators between them: where card numbers hide.
_DIGIT_RUN = re.compile(rf"[0-9]+(?:{SEPARATOR}[0-9]+)*+")  # possessive: no backtracking
_GROUP = re.compile(r"[0-9]+")
# The runs that hold 13 digits or more, found by the regex engine alone: a run starts at a
# digit that follows neither a digit nor a digit and one separator (where _DIGIT_RUN's scan
# starts one), and holds thirteen digits with at most one separator between each.
# (The first digit is matched first, so that the engine gives up at once on anything else.)
_LONG_RUN = re.compile(
    rf"[0-9](?<![0-9]{{2}})(?<![0-9]{SEPARATOR}[0-9])(?=(?:{SEPARATOR}?[0-9]){{12}})"
    rf"[0-9]*+(?:{SEPARATOR}[0-9]+)*+"
)
# Inside a run, consecutive groups of three or more digits: how cards are printed.
_STRETCH = re.compile(rf"(?<![0-9])[0-9]{{3,}}(?:{SEPARATOR}[0-9]{{3,}})*+(?![0-9])")
# A date and time is a run of 12 to 14 digits, not a card: 2026-11-27 10:00:00.
_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(?::[0-9]{2})?")
# Luhn: b"0".."9" as 0..9, and 0..9 doubled, less 9 when that passes 9.
_PLAIN_BYTES = bytes((b - 48) % 256 for b in range(256))
_DOUBLED_BYTES = bytes((2 * b - 9 if b > 4 else 2 * b) if b < 10 else 0 for b in range(256))
# Identifiers zplan generates: UUIDs and hex digests of 32 characters or more.
_GENERATED = re.compile(
    r"(?<![0-9A-Za-z])(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12}|[0-9a-fA-F]{32,})(?![0-9A-Za-z])"
)
MASK = "•••• "


class Card(NamedTuple):
    start: int  # offset in the text
    text: str  # as written, separators included
    digits: str


def luhn(digits: str) -> bool:
    return luhn_sums(digits)[1] % 10 == 0


def luhn_sums(group: str) -> tuple[int, int, int]:
    """A group's length and its Luhn sums: as the last group of a number (its last
    digit not doubled), and with an odd count of digits after it."""
    values = group[::-1].encode("ascii").translate(_PLAIN_BYTES)
    kept, other = values[0::2], values[1::2]
    return (
        len(values),
        sum(kept) + sum(other.translate(_DOUBLED_BYTES)),
        sum(kept.translate(_DOUBLED_BYTES)) + sum(other),
    )


_DROP_SEPARATORS = dict.fromkeys(
    [ord(c) for c in " \t\u00a0\u1680\u202f\u205f\u3000._:-"] + list(range(0x2000, 0x200B))
)


def digits_of(text: str) -> str:
    """The digits of a run (its separators dropped)."""
    return text.translate(_DROP_SEPARATORS)


# A first look, in bytes (a C loop, where the regex engine stops at every digit): digits
# become "0", separators and every byte of a character beyond ASCII are dropped, anything
# else stays a "x". A card's digits then stand 13 or more in a row; text with no such row
# holds no card. (Dropping more than one separator, or a character that is not one, only
# joins more digits: a row may be found where no card is, never the other way round.)
_FOLD = bytes(ord("0") if 48 <= b <= 57 else ord("x") for b in range(256))
_DROP = bytes([*b" \t._:-", *range(0x80, 0x100)])
_THIRTEEN = b"0" * 13


def card_numbers(text: str) -> list[Card]:
    """Everything in ``text`` that looks like a payment card number.

    That is a run of 13 to 19 digits (single separators between them allowed)
    that passes the Luhn check; or, inside a longer run, consecutive groups of
    three or more digits, the way cards are printed (4-4-4-4, 4-6-5), 13 to 19
    digits in all and passing the check. The second form finds the number in
    ``&a1 4111 1111 1111 1111`` or ``id 7 4111-1111-1111-1111``, where a stray
    digit before it joins the run.
    """
    if _THIRTEEN not in text.encode("utf-8", "surrogatepass").translate(_FOLD, _DROP):
        return []
    found = []
    for run in _LONG_RUN.finditer(text):  # the runs _DIGIT_RUN finds, those of 13+ digits
        written = run.group()
        digits = digits_of(written)
        if len(digits) < 13:
            continue
        if len(digits) <= 19 and luhn(digits) and _printed(written):
            found.append(Card(run.start(), written, digits))
            continue
        found.extend(card for card in _cards_within(text, run) if _printed(card.text))
    return found


_LOOSE = re.compile(r"[._:]")


def _printed(written: str) -> bool:
    """Whether a run of digits can be a card as people write one.

    Spaces and dashes may stand anywhere. Dots, underscores and colons separate
    a card's groups only as a card is printed: two or more of them, between
    groups of three or more digits (``4111.1111.1111.1111``), so that a float
    (``0.30000000000000004``) or a date and time (``2026-11-27 10:00:00``) is
    not taken for one.
    """
    if _DATE_TIME.fullmatch(written):
        return False
    if not _LOOSE.search(written):
        return True
    groups = _GROUP.findall(written)
    return len(groups) >= 3 and all(len(group) >= 3 for group in groups)


def _cards_within(text: str, run: re.Match[str]) -> Iterator[Card]:
    """The printed-card windows of a long run (see ``card_numbers``).

    Linear in the run's length, and streaming: a window spans at most six groups
    (19 digits in groups of 3 or more), so only the last six are kept.
    """
    sums: dict[str, tuple[int, int, int]] = {}  # a group's digits -> luhn_sums
    for stretch in _STRETCH.finditer(text, run.start(), run.end()):
        if stretch.end() - stretch.start() < 13:
            continue
        window: deque[tuple[int, int, int, int]] = deque(maxlen=6)
        for group in _GROUP.finditer(text, stretch.start(), stretch.end()):
            value = group.group()
            known = sums.get(value)
            if known is None:
                known = sums[value] = luhn_sums(value)
            window.append((group.start(), *known))
            count = total = 0
            for start, length, last, inner in reversed(window):  # windows ending here
                total += last if count % 2 == 0 else inner
                count += length
                if count > 19:
                    break
                if count >= 13 and total % 10 == 0:
                    # Overlapping windows are all reported: a stray group before the
                    # number may pass by chance, and must not hide the number itself.
                    written = text[start : group.end()]
                    yield Card(start, written, digits_of(written))


def looks_like_card(text: str) -> bool:
    """A value whose digits alone, whatever stands between them, make a card number.

    For values that are references by nature (``payment_ref``): ``4111a1111b…``.
    """
    digits = "".join(c for c in text if "0" <= c <= "9")
    return (13 <= len(digits) <= 19 and luhn(digits)) or bool(card_numbers(text))


def _generated_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _GENERATED.finditer(text)] if len(text) >= 32 else []


def mask_cards(text: str) -> str:
    """``text`` with every card-like number shown as ``•••• 1111`` (generated ids kept)."""
    if not any("0" <= c <= "9" for c in text):
        return text
    cards = card_numbers(text)
    if not cards:
        return text
    exempt = _generated_spans(text)
    spans: list[list[int]] = []
    lasts: list[str] = []
    for card in sorted(cards):
        start, end = card.start, card.start + len(card.text)
        if any(a <= start and end <= b for a, b in exempt):
            continue
        if spans and start <= spans[-1][1]:
            if end > spans[-1][1]:
                spans[-1][1] = end
                lasts[-1] = card.digits[-4:]
            continue
        spans.append([start, end])
        lasts.append(card.digits[-4:])
    if not spans:
        return text
    out, at = [], 0
    for (start, end), last in zip(spans, lasts, strict=True):
        out += [text[at:start], MASK + last]
        at = end
    out.append(text[at:])
    return "".join(out)


# Invisible characters: bidi controls, zero-width characters, the BOM.
_INVISIBLE = {
    code: f"\\u{code:04x}"
    for code in [
        0x00AD,
        0x034F,
        0x061C,
        0x115F,
        0x1160,
        0x17B4,
        0x17B5,
        0x180E,
        *range(0x200B, 0x2010),
        *range(0x202A, 0x202F),
        *range(0x2060, 0x2070),
        0x3164,
        0xFEFF,
        0xFFA0,
    ]
}


_ANY_INVISIBLE = re.compile("[" + "".join(re.escape(chr(code)) for code in _INVISIBLE) + "]")


def show_invisible(text: str) -> str:
    """``text`` with bidi controls and zero-width characters written as ``\\u202e``."""
    if _ANY_INVISIBLE.search(text) is None:  # the usual case, found by the regex engine
        return text
    return text.translate(_INVISIBLE)


# Secrets in URLs and connection strings.
SECRET_KEYS = frozenset(
    {"password", "pass", "passwd", "pwd", "sslpassword", "token", "secret", "api_key", "apikey"}
)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+")
_KEY_VALUE = re.compile(
    r"\b("
    + "|".join(sorted(SECRET_KEYS, key=len, reverse=True))
    + r")(\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)",
    re.IGNORECASE,
)
HIDDEN = "***"
_QUERY_SECRET = re.compile(
    r"((?:^|&)(?:" + "|".join(sorted(SECRET_KEYS, key=len, reverse=True)) + r")=)[^&]*",
    re.IGNORECASE,
)
_USERINFO = re.compile(r"\A([A-Za-z][A-Za-z0-9+.\-]*://[^/?#@:\s]*):[^?#\s]*@")


def redact_url(url: str) -> str:
    """``url`` with the password of its userinfo and secret query values replaced by ``***``."""
    # A password holding '/', '?', '#' or '@' defeats URL parsing: hide up to the last '@'.
    url = _USERINFO.sub(lambda m: m.group(1) + ":" + HIDDEN + "@", url, count=1)
    try:
        parts = urlsplit(url)
    except ValueError:
        return _KEY_VALUE.sub(lambda m: m.group(1) + m.group(2) + HIDDEN, url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}{':' + HIDDEN if colon else ''}@{host}"
    query = _QUERY_SECRET.sub(lambda m: m.group(1) + HIDDEN, parts.query)
    shown = urlunsplit(parts._replace(netloc=netloc, query=query))
    if not netloc and url.startswith(f"{parts.scheme}://"):  # postgresql:///db keeps its //
        shown = f"{parts.scheme}://" + shown[len(parts.scheme) + 1 :]
    return shown


def redact_secrets(text: str) -> str:
    """Passwords in URLs and in ``key=value`` connection strings, replaced by ``***``."""
    if "://" in text:
        text = _URL.sub(lambda m: redact_url(m.group()), text)
    if "=" in text:
        text = _KEY_VALUE.sub(lambda m: m.group(1) + m.group(2) + HIDDEN, text)
    return text


def scrub(text: str) -> str:
    """Everything above at once: what every output of zplan goes through."""
    return show_invisible(mask_cards(redact_secrets(text)))
