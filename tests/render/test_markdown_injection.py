"""The pull-request comment, rendered the way GitHub renders it, for hostile names and values.

GitHub renders comments with cmark-gfm and lets raw HTML through (sanitised,
but ``<details>``, headings and comments survive); then it turns ``@name``
into mentions and ``#12`` into references in every text node outside code and
links. These tests render zplan's comment with cmark-gfm's unsafe option and
read the HTML back: only the links, images, headings, details blocks,
comments and mentions of zplan's own template may be there, and every
account's details must stay visible.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import TODAY, init_store, invoke

cmarkgfm = pytest.importorskip("cmarkgfm")

# At least thirty ways to break out of a comment: the issue's own, then the rest of
# CommonMark, GFM and GitHub's text filters.
HOSTILE = [
    "a\n\n<!--\n\n",
    "<h2>APPROVED by @octocat</h2><details open>",
    "[Approve](https://e.co) @octocat",
    "![x](https://e.co/p.png)",
    "<!--",
    "-->",
    "`code` ``` ```` `",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "https://evil.example/approve",
    "www.evil.example",
    "mallory@evil.example",
    "@octocat",
    "#1 fixes #2",
    "owner/repo#3",
    "| col | injected |",
    "\n# Heading\n",
    "\n---\n",
    "title\n===",
    "*bold* _em_ **x** ~~strike~~",
    "<details><summary>x</summary>",
    "</details></details></table>",
    "&lt;b&gt; &#64;octocat &amp; &#x3C;!--",
    "\\<b\\> \\",
    "[x]: https://e.co",
    "[x] [x][] [x][x]",
    "<https://e.co> <mallory@evil.example>",
    "\u202eevil\u202c and a\u200bb",
    "    indented code",
    "> quote",
    "- [ ] task\n1. list",
    "<a href='https://e.co'>x</a>",
    "\r\n\r\n<!--",
    "x](https://e.co) [y",
    "<sub>small</sub><h1>big</h1>",
    "javascript:alert(1)",
    "``` \n<!--\n```",
]

# What zplan's own template may produce, and nothing else.
ALLOWED_TAGS = {
    "p", "h3", "table", "thead", "tbody", "tr", "th", "td", "code", "strong",
    "details", "summary", "b", "span", "ul", "li", "blockquote", "sub",
    "h4", "pre",  # the forecast's heading and chart
}  # fmt: skip
MENTION = re.compile(r"(?:^|[^\w`/])@[A-Za-z0-9]")
REFERENCE = re.compile(r"(?:^|[^\w&])#[0-9]|\bGH-[0-9]")


class _Reader(HTMLParser):
    """Tags, comments, mentions (in text outside code and links) and the details blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.comments: list[str] = []
        self.mentions: list[str] = []
        self.open: list[str] = []
        self.details: list[dict[str, str]] = []  # summary text, body text

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "details":
            assert "details" not in self.open, "a details block inside another one"
            self.details.append({"summary": "", "body": ""})
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            while self.open.pop() != tag:
                pass

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)

    def handle_data(self, data: str) -> None:
        if "details" in self.open:
            part = "summary" if "summary" in self.open else "body"
            self.details[-1][part] += data
        if not {"code", "pre", "a"} & set(self.open):
            for finder in (MENTION, REFERENCE):
                self.mentions += finder.findall(data)


def _github_html(markdown: str) -> _Reader:
    from cmarkgfm.cmark import Options

    html = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader


def _file(subdomain: str, *, billing: str = "", admins: tuple[str, ...] = ()) -> str:
    lines = [
        "zplan: 1",
        "account:",
        f"  subdomain: {subdomain}",
        "  owner: owner@acme.example",
        "  billing_admins:",
        *(f"    - {json.dumps(a)}" for a in ("finance@acme.example", *admins)),
        "billing:",
        "  cycle: annual",
        "  payment: card",
        billing,
        "agreements:",
        "  master_subscription_agreement: accepted",
        "  privacy_policy: accepted",
        "products:",
        "  suite:",
        "    edition: professional",
        "    agents: 2500",
        "status: active",
    ]
    return "\n".join(line for line in lines if line) + "\n"


def _comment(directory: Path, hostile: str) -> str:
    """The comment for five accounts: one in a file named with ``hostile``, three
    carrying it (promotion code, key, billing admin), and a last one, ``zlast``."""
    accounts = directory / "accounts"
    accounts.mkdir()
    name = hostile.replace("/", "_").replace("\0", "_")[:200]
    (accounts / f"a {name}.yaml").write_text(_file("first"), encoding="utf-8")
    (accounts / "b-promo.yaml").write_text(
        _file("second", billing=f"  promo_code: {json.dumps(hostile)}"), encoding="utf-8"
    )
    (accounts / "c-key.yaml").write_text(
        _file("third", billing=f"  {json.dumps(hostile)}: 1"), encoding="utf-8"
    )
    (accounts / "d-admin.yaml").write_text(
        _file("fourth", admins=(hostile + "@evil.example",)), encoding="utf-8"
    )
    (accounts / "z.yaml").write_text(_file("zlast"), encoding="utf-8")
    state = init_store(str(directory / "store" / "state.db"))
    result = invoke(
        ["--state", state, "--at", TODAY, "plan", str(accounts), "--format", "markdown"]
    )
    assert result.code in (0, 1), result.output
    assert "unexpected error" not in result.err
    return result.out


def test_the_corpus_is_large_enough() -> None:
    assert len(set(HOSTILE)) >= 30


@pytest.mark.parametrize("hostile", HOSTILE, ids=[f"h{i}" for i in range(len(HOSTILE))])
def test_the_comment_renders_inert(tmp_path: Path, hostile: str) -> None:
    markdown = _comment(tmp_path, hostile)
    page = _github_html(markdown)
    assert set(page.tags) <= ALLOWED_TAGS, sorted(set(page.tags) - ALLOWED_TAGS)
    assert page.tags.count("a") == 0 and page.tags.count("img") == 0
    assert page.tags.count("h3") == 1  # the headline, one currency
    assert page.comments == [" zplan-plan "], page.comments  # the marker, nothing else
    assert page.mentions == [], page.mentions
    # Every account with changes has its own details block, with its summary and body.
    names = [block["summary"].split(":")[0] for block in page.details]
    assert names[0] == "first" and names[-1] == "zlast", names  # neither hidden nor swallowed
    assert set(names) <= {"first", "second", "third", "fourth", "zlast"}
    assert len(names) == len(set(names)) == markdown.count("<details><summary>")
    for block in page.details:
        assert "2500 agents" in block["body"], block
        assert "Due now" in block["body"]
    # Nor does the raw comment hold markup from the file, for a reader of the source.
    assert markdown.count("<!--") == 1
    for tag in ("<img", "<script", "<h2", "<a ", "<details open"):
        assert tag not in markdown
    assert "\u202e" not in markdown and "\u200b" not in markdown


@pytest.mark.parametrize("hostile", HOSTILE[:8], ids=[f"h{i}" for i in range(8)])
def test_the_hostile_text_is_shown_as_written(tmp_path: Path, hostile: str) -> None:
    """Inert, not lost: the reviewer reads the promotion code as the file wrote it."""
    from zplan.render.markdown import inert

    text = _text(inert(hostile))
    shown = hostile.replace("\n", "\\x0a").replace("\r", "\\x0d")
    assert text == shown


def _text(markdown: str) -> str:
    from cmarkgfm.cmark import Options

    html = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    parts: list[str] = []

    class Text(HTMLParser):
        def handle_data(self, data: str) -> None:
            parts.append(data)

    reader = Text(convert_charrefs=True)
    reader.feed(html)
    reader.close()
    return "".join(parts).strip("\n")


@pytest.mark.parametrize(
    "text",
    ["a`b", "``", "` x `", "|", "a|b", "<!--", "@octocat", "", " lead", "x\ny"],
)
def test_code_spans_survive_backticks_pipes_and_newlines(text: str) -> None:
    from zplan.render.markdown import code

    row = f"| a | b |\n| --- | --- |\n| {code(text)} | end |\n"
    page = _github_html(row)
    assert page.tags.count("td") == 2, row  # the cell was not split
    line = _github_html(f"x {code(text, table=False)} y")
    assert line.tags.count("p") == 1
    assert line.mentions == []
