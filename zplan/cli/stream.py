"""A large plan written out as it was planned: each account rendered where it is planned.

``zplan plan`` in text, JSON or markdown (without ``--out`` or policies) goes
through here: the workers turn each account into its output fragment
(``TextShape``, ``JsonShape``, ``MarkdownShape``), the parent keeps the
fragments in a temporary file and, once every account is planned, writes the
head, the fragments in order, and the end. The output is the same, byte for
byte, as rendering the whole plan document (tests compare them); only the
memory differs.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from itertools import islice
from typing import TYPE_CHECKING, Any

from zplan.pipeline.bulk import Streamed
from zplan.render import Style

if TYPE_CHECKING:
    from zplan.render.markdown import Tally

Write = Callable[[str], object]
_CHUNK = 1 << 16  # characters per write: whole fragments, so that no secret is cut in two


class TextShape:
    def __init__(self, style: Style) -> None:
        from zplan.render.text import render_account, summary_values

        self.style = style
        self._render = render_account
        self._row = summary_values

    def account(
        self, account: dict[str, Any], sums: Mapping[str, Any] | None = None
    ) -> tuple[str, list[str]]:
        return "\n".join(self._render(account, self.style)), self._row(account)

    def write(self, plan: Streamed, write: Write) -> None:
        from zplan.render.text import plan_foot, plan_head

        head = plan_head(plan.head, self.style)
        buffer = ["\n".join(head) + "\n"] if head else []
        size = 0
        for index, fragment in enumerate(plan.fragments()):
            buffer.append("\n" + fragment + "\n" if index else fragment + "\n")
            size += len(fragment)
            if size > _CHUNK:
                write("".join(buffer))
                buffer, size = [], 0

        for line in plan_foot(plan.head, self.style, plan.planned, plan.rows):
            buffer.append(line + "\n")
            size += len(line)
            if size > _CHUNK:
                write("".join(buffer))
                buffer, size = [], 0
        if not (head or plan.planned or buffer):  # as render_plan: nothing at all is one newline
            buffer.append("\n")
        write("".join(buffer))


class JsonShape:
    """The plan document as ``zplan.apply.planfile.dumps`` writes it."""

    def account(
        self, account: dict[str, Any], sums: Mapping[str, Any] | None = None
    ) -> tuple[str, list[str]]:
        return json.dumps(account, ensure_ascii=False), []

    def write(self, plan: Streamed, write: Write) -> None:
        from zplan.apply.planfile import PRETTY_UP_TO, dumps

        if plan.planned <= PRETTY_UP_TO:  # a small plan is indented for a reader
            document = dict(plan.head)
            document["accounts"] = [json.loads(fragment) for fragment in plan.fragments()]
            write(dumps(document))
            return
        keys = list(plan.head)
        at = keys.index("accounts")
        before = {k: plan.head[k] for k in keys[:at]}
        after = {k: plan.head[k] for k in keys[at + 1 :]}
        buffer = [json.dumps(before, ensure_ascii=False)[:-1] + ', "accounts": [']
        size = 0
        for index, fragment in enumerate(plan.fragments()):
            buffer.append(", " + fragment if index else fragment)
            size += len(fragment)
            if size > _CHUNK:
                write("".join(buffer))
                buffer, size = [], 0
        tail = json.dumps(after, ensure_ascii=False)
        buffer.append("]" + (", " + tail[1:] if after else "}") + "\n")
        write("".join(buffer))


class MarkdownShape:
    """The pull-request comment (``zplan.render.markdown``), its accounts never all in memory.

    A worker renders each account's row, alerts and details block; the details wait in
    the temporary file, the rest (and the account's forecast figures) is kept for the end.
    The parent then adds the figures up account by account (``Tally``; the forecast's
    totals exactly, in Decimal), works out what fits under the comment's limit from
    the sizes alone, and reads back only the rows and details blocks that fit.
    """

    def __init__(self, months: int | None, start: dt.date) -> None:
        self.months = months  # the forecast's months (None: no forecast)
        self.start = start

    def account(
        self, account: dict[str, Any], sums: Mapping[str, Any] | None = None
    ) -> tuple[str, list[str]]:
        from zplan.render.markdown import details, piece

        part = piece(account)
        block = details(account) if part.row else ""
        extra = [
            part.currency,
            str(part.before),
            str(part.after),
            str(part.due),
            part.row,
            str(len(block)),
            str(len(part.alerts)),
            *part.alerts,
            str(len(part.estimated)),
            *part.estimated,
        ]
        if sums is not None:  # Decimal's text reads back as the same Decimal
            figures = " ".join(str(figure) for row in sums["rows"] for figure in row)
            extra += [sums["currency"], " ".join(sums["labels"]), figures]
        return block, extra

    def write(self, plan: Streamed, write: Write) -> None:
        from zplan.render.markdown import Tally, comment

        tally = Tally()
        figures = self._figures(plan, tally)
        if self.months is not None:  # summed in the plan's order, as for the whole document
            from zplan.plan.forecast import sums_json

            totals = sums_json(figures)
            plan.head["forecast"] = {
                "months": self.months,
                "start": self.start.isoformat(),
                "totals": totals,
            }
        else:
            for _ in figures:
                pass

        def rows(wanted: int) -> list[str]:  # read until the first ``wanted`` are found
            found = (extra[4] for extra in plan.rows() if extra[4])
            return list(islice(found, wanted)) if wanted else []

        def blocks(wanted: int) -> list[str]:
            found = (block for block in plan.fragments() if block)  # "": no row, no block
            return list(islice(found, wanted)) if wanted else []

        write(comment(plan.head, tally, rows, blocks))

    @staticmethod
    def _figures(plan: Streamed, tally: Tally) -> Iterator[dict[str, Any]]:
        """Every account added to ``tally`` as it is read; yields its forecast figures."""
        from zplan.render.markdown import Piece

        for extra in plan.rows():
            at = 7 + int(extra[6])  # the alerts, then how many estimated prices, their names
            named = at + 1 + int(extra[at])
            part = Piece(
                extra[0],
                Decimal(extra[1]),
                Decimal(extra[2]),
                Decimal(extra[3]),
                extra[4],
                extra[7:at],
                extra[at + 1 : named],
            )
            tally.add(part, int(extra[5]))
            rest: Sequence[str] = extra[named:]
            if rest:
                currency, labels, numbers = rest
                figures = [Decimal(n) for n in numbers.split(" ")] if numbers else []
                yield {
                    "currency": currency,
                    "labels": labels.split(" ") if labels else [],
                    "rows": [tuple(figures[i : i + 4]) for i in range(0, len(figures), 4)],
                }


Shape = TextShape | JsonShape | MarkdownShape


def writer() -> Write:
    """Writes whole chunks to standard output, each scrubbed on its own (see zplan.cli.run)."""
    stream = sys.stdout
    whole = getattr(stream, "write_whole", None)
    return whole if whole is not None else stream.write
