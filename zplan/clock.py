"""The one clock: what "today" is for a plan, and for a write.

``--at DATE`` (or ``ZPLAN_NOW``) sets it for plans (what-if pricing); by
default it is today in UTC. A write takes its clock from the store instead
(``zplan.pipeline.settings.write_clock``): the store's real date, or on a
sandbox store the date asked for; the times recorded in the store are the
store's own (``Store.now``). With a date alone, the time of day is the real
one; with a full timestamp (``2026-11-27T12:00:00Z``) the clock stands still
at it.
"""

from __future__ import annotations

import datetime as dt

from zplan.errors import UsageError


def parse_date(text: str, *, what: str = "--at / ZPLAN_NOW") -> dt.date:
    """An ISO date (``2026-11-27``); a full timestamp is cut to its date."""
    return _parse(text, what)[0]


def _parse(text: str, what: str) -> tuple[dt.date, dt.datetime | None]:
    value = text.strip()
    result = _parse_iso(value, text, what)
    if not 1970 <= result[0].year <= 2999:
        raise UsageError(
            f"{what}: {text!r} is outside the years zplan plans (1970 to 2999)",
            hint="write an ISO date such as 2026-11-27",
        )
    return result


def _parse_iso(value: str, text: str, what: str) -> tuple[dt.date, dt.datetime | None]:
    try:
        if len(value) > 10:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.UTC)
            moment = moment.astimezone(dt.UTC)
            return moment.date(), moment
        return dt.date.fromisoformat(value), None
    except ValueError:
        raise UsageError(
            f"{what}: {text!r} is not a date", hint="write an ISO date such as 2026-11-27"
        ) from None


class Clock:
    """Today's date, fixed once per run."""

    def __init__(self, today: dt.date | None = None, moment: dt.datetime | None = None) -> None:
        self._fixed = today
        self._moment = moment

    @classmethod
    def from_setting(cls, setting: str | None) -> Clock:
        if not setting:
            return cls()
        return cls(*_parse(setting, "--at / ZPLAN_NOW"))

    def today(self) -> dt.date:
        if self._fixed is not None:
            return self._fixed
        return dt.datetime.now(dt.UTC).date()

    def now_utc(self) -> dt.datetime:
        if self._moment is not None:
            return self._moment.replace(microsecond=0)
        real = dt.datetime.now(dt.UTC)
        if self._fixed is None:
            return real.replace(microsecond=0)
        return dt.datetime.combine(self._fixed, real.time(), tzinfo=dt.UTC).replace(microsecond=0)

    def timestamp(self) -> str:
        return self.now_utc().strftime("%Y-%m-%dT%H:%M:%SZ")
