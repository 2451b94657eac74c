"""What a guardrail says about a plan: a deny or a warn, about one account or the whole plan."""

from __future__ import annotations

import enum
from typing import Any, NamedTuple


class Level(enum.Enum):
    DENY = "deny"
    WARN = "warn"


class Finding(NamedTuple):
    level: Level
    message: str
    source: str  # budgets.yaml:12, or the Rego rule (deny, warn_monthly, ...)
    subdomain: str | None = None  # None: about the whole plan
    file: str | None = None  # the account's subscription file

    def to_json(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "subdomain": self.subdomain,
            "file": self.file,
            "source": self.source,
        }


class Source(NamedTuple):
    """A file of the policy set: a Rego module, budgets, or data."""

    path: str
    kind: str  # rego | budgets | data
    sha256: str

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "kind": self.kind, "sha256": self.sha256}
