"""A large plan written out as it was planned: each account rendered where it is planned.

``zplan plan`` in text or JSON (without ``--out`` or policies) goes through
here: the workers turn each account into its output fragment (``TextShape``,
``JsonShape``), the parent keeps the fragments in a temporary file and, once
every account is planned, writes the head, the fragments in order, and the
end. The output is the same, byte for byte, as rendering the whole plan
document (tests compare them); only the memory differs.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from zplan.pipeline.bulk import Streamed
from zplan.render import Style

Write = Callable[[str], object]
_CHUNK = 1 << 16  # characters per write: whole fragments, so that no secret is cut in two


class TextShape:
    def __init__(self, style: Style) -> None:
        from zplan.render.text import render_account, summary_values

        self.style = style
        self._render = render_account
        self._row = summary_values

    def account(self, account: dict[str, Any]) -> tuple[str, list[str]]:
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

    def account(self, account: dict[str, Any]) -> tuple[str, list[str]]:
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


def writer() -> Write:
    """Writes whole chunks to standard output, each scrubbed on its own (see zplan.cli.run)."""
    stream = sys.stdout
    whole = getattr(stream, "write_whole", None)
    return whole if whole is not None else stream.write
