"""The live account against the record and the file (issue 15). Pure: values in, values out.

Zendesk's Users API shows who holds an agent seat, not which product's seat:
every agent of a Suite holds a Suite seat, and every Support agent a Support
seat. So the seats in use are compared with ``suite``'s agents, or, without a
Suite, ``support``'s; Chat, Guide and Talk seats are not visible (docs/zendesk.md).

When seats drop below the agents holding them and the owner has not chosen who
goes, Zendesk downgrades the last agents alphabetically at the renewal.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from zplan.model import Config, Observation, Observed

SEATED = ("suite", "support")
NAMES_SHOWN = 10
DEFAULT_MAX_AGE = 24 * 3600


class SeatLoss(NamedTuple):
    product: str
    wanted: int
    in_use: int
    names: tuple[str, ...]  # whom Zendesk would downgrade: the last alphabetically

    def message(self, observed_at: str) -> str:
        lost = self.in_use - self.wanted
        return (
            f"{self.in_use} agents hold a paid seat in Zendesk (observed {observed_at}); "
            f"{self.wanted} {self.product} seats leave {lost} of them without one, and at the "
            f"renewal Zendesk downgrades the last alphabetically to end users: "
            f"{names_shown(self.names)}"
        )


def names_shown(names: tuple[str, ...]) -> str:
    shown = ", ".join(names[:NAMES_SHOWN])
    if len(names) > NAMES_SHOWN:
        shown += f" and {len(names) - NAMES_SHOWN} more"
    return shown


def seat_product(config: Config) -> str | None:
    for product in SEATED:
        if config.product(product) is not None:
            return product
    return None


def assess(
    observation: Observation,
    now: Config | None,
    wanted: Config,
    plan_time: dt.datetime,
    max_age: float,
    live_plan_matches: bool | None,
) -> tuple[Observed, SeatLoss | None]:
    """The observation read against today's subscription (``now``) and the file (``wanted``)."""
    product = seat_product(wanted) or (seat_product(now) if now is not None else None)
    on_record = _agents(now, product)
    in_file = _agents(wanted, product)
    seen = _moment(observation.observed_at)
    age = max(0, int((plan_time - seen).total_seconds()))
    in_use = observation.seats_in_use
    drift = []
    if on_record is not None and in_use > on_record:
        drift.append(
            f"Zendesk shows {in_use} agents holding a paid seat, and the record has "
            f"{on_record} {product} seats: seats were added outside zplan (Zendesk adds them "
            "when agents are added, or someone bought them in the Admin Center)"
        )
    if live_plan_matches is False:
        drift.append(
            f"Zendesk shows the plan {observation.plan!r}, and the record has "
            f"{_edition(now, product)}"
        )
    loss = None
    reduces = in_file is not None and (on_record is None or in_file < on_record)
    if in_file is not None and reduces and in_file < in_use:
        # The agents Zendesk keeps are the first alphabetically: the rest are downgraded.
        names = tuple(a.name for a in observation.agents[in_file:])
        loss = SeatLoss(product or "", in_file, in_use, names)
    observed = Observed(
        observation,
        product,
        on_record,
        in_file,
        age,
        age > max_age,
        tuple(drift),
        () if loss is None else loss.names,
    )
    return observed, loss


def _agents(config: Config | None, product: str | None) -> int | None:
    if config is None or product is None:
        return None
    line = config.product(product)
    return None if line is None else line.agents


def _edition(config: Config | None, product: str | None) -> str:
    line = None if config is None or product is None else config.product(product)
    return "no plan" if line is None else f"{line.product} {line.edition}"


def _moment(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def parse_age(text: str) -> float:
    """``24h``, ``90m``, ``2d``, ``3600s`` or plain seconds; ValueError otherwise."""
    value = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    factor = units.get(value[-1:], 0)
    number = value[:-1] if factor else value
    seconds = float(number) * (factor or 1)
    if not seconds >= 0 or seconds == float("inf"):
        raise ValueError(text)
    return seconds


class Observing(NamedTuple):
    """What a plan knows of the live accounts (the planner's Context takes these fields)."""

    observations: dict[str, Observation]
    plan_time: dt.datetime
    max_observation_age: float = DEFAULT_MAX_AGE
    allow_seat_loss: bool = False
