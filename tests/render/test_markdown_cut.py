"""The comment's cut (issue 18): found from running sums, the same as assembling each try."""

from __future__ import annotations

import json

import pytest
from zplan.render import markdown

from tests.conftest import EXAMPLES, TODAY, Zplan


def _by_assembling(document: dict, limit: int) -> str:
    """The cut as it was made before: assemble, measure, drop one block or row, again."""
    original = markdown._fitting
    shown = [a for a in document["accounts"] if markdown.piece(a).row]
    rows = [markdown.piece(a).row for a in shown]
    details = [markdown.details(a) for a in shown]

    def tried(head, table_head, row_sizes, totals, tail, detail_sizes, footer, limit):  # type: ignore[no-untyped-def]
        assert list(row_sizes) == [len(r) + 1 for r in rows]
        assert list(detail_sizes) == [len(d) + 1 for d in details]
        kept_rows, kept_details, cut = len(rows), len(details), False
        while True:
            text = markdown._assemble(
                head,
                table_head,
                rows[:kept_rows],
                totals,
                tail,
                details[:kept_details],
                footer,
                cut,
                len(rows) - kept_rows,
                len(details) - kept_details,
                limit,
            )
            if len(text) <= limit or not (kept_rows or kept_details):
                return kept_rows, kept_details
            cut = True
            if kept_details:
                kept_details -= 1
            else:
                kept_rows -= 1

    markdown._fitting = tried  # type: ignore[assignment]
    try:
        return markdown.render_markdown(document, limit)
    finally:
        markdown._fitting = original


@pytest.fixture
def document(zplan: Zplan, state: str) -> dict:
    result = zplan(
        "--state", state, "--at", TODAY, "plan", str(EXAMPLES / "accounts-20"), "--format", "json"
    )
    assert result.code == 0, result.output
    return json.loads(result.out)


def test_every_limit_cuts_as_assembling_each_try_would(document: dict) -> None:
    full = markdown.render_markdown(document)
    assert full.count("<details>") == 20
    for limit in [*range(200, len(full) + 300, 97), len(full), len(full) - 1]:
        assert markdown.render_markdown(document, limit) == _by_assembling(document, limit), limit


def test_a_comment_of_many_new_accounts_is_cut_in_one_pass(document: dict) -> None:
    many = dict(document)
    many["accounts"] = [
        {**account, "subdomain": f"{account['subdomain']}{n}"}
        for n in range(150)
        for account in document["accounts"]
    ]
    text = markdown.render_markdown(many)
    assert len(text) <= markdown.LIMIT
    assert "accounts were cut" in text
