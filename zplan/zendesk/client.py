"""Read the live account through Zendesk's public REST API: read-only, rate-limited, bounded.

What is read (docs/zendesk.md cites Zendesk's API reference for each):

- ``GET /api/v2/users?role[]=agent&role[]=admin&page[size]=100``, following
  ``links.next`` while ``meta.has_more`` (cursor pagination);
- ``GET /api/v2/custom_roles``, only when an agent has a ``custom_role_id`` and no
  ``role_type`` (to tell light agents and contributors apart);
- with the explicit ``read_plan`` flag only, ``GET /api/v2/account/subscription``
  (undocumented) for the plan name.

An agent holds a paid seat when their role is agent or admin, they are active
and not suspended, and their role type is neither light agent (1) nor
contributor (3). Each request: a 429 waits ``Retry-After`` (at most
``max_wait``); a 5xx or a dropped connection is retried with backoff; when
``ratelimit-remaining`` reaches 0 the next request waits for
``ratelimit-reset``; a request that takes longer than ``timeout`` is retried,
then reported. 401, 403 and 404 are one line each. httpx is imported here only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

from zplan.errors import ZplanError
from zplan.model import Observation, SeatHolder
from zplan.zendesk.credentials import Credentials

if TYPE_CHECKING:
    import httpx

DEFAULT_URL = "https://{subdomain}.zendesk.com"
LIGHT_AGENT, CONTRIBUTOR = 1, 3
UNPAID_ROLE_TYPES = {LIGHT_AGENT, CONTRIBUTOR}
PAGE_SIZE = 100
MAX_PAGES = 10_000  # 1,000,000 agents: far past any account; stops a server that loops


class ZendeskError(ZplanError):
    """The live account could not be read; the message is one line and names no secret."""

    def __init__(self, message: str, *, hint: str | None = None, status: int | None = None):
        super().__init__(message, hint=hint)
        self.status = status


class ReadSettings(NamedTuple):
    url: str = DEFAULT_URL  # {subdomain} is replaced; without it, every account reads this URL
    timeout: float = 30.0  # seconds per request
    tries: int = 4  # per request, for 5xx, timeouts and dropped connections
    max_wait: float = 120.0  # the longest Retry-After or rate-limit reset zplan waits out
    backoff: float = 0.5  # seconds before the first retry; doubles each time
    read_plan: bool = False  # the undocumented subscription endpoint
    workers: int = 16  # accounts read at once (each account has its own rate limit)

    def base_url(self, subdomain: str) -> str:
        return self.url.replace("{subdomain}", subdomain).rstrip("/")


def read_account(
    credentials: Credentials,
    settings: ReadSettings,
    now: Callable[[], str],
    client: httpx.Client | None = None,
) -> Observation:
    """One account's seat holders (and, when asked, plan name), read now."""
    if client is None:
        with _client(settings, 1) as own:
            return read_account(credentials, settings, now, own)
    base = settings.base_url(credentials.subdomain)
    reader = _Reader(credentials, settings, base, client)
    users = list(reader.pages("/api/v2/users.json", "users", _USERS_QUERY))
    roles: dict[int, int] = {}
    if any(u.get("custom_role_id") and u.get("role_type") is None for u in users):
        roles = reader.custom_roles()
    plan = reader.plan_name() if settings.read_plan else None
    holders = sorted(
        (
            SeatHolder(int(u["id"]), str(u.get("name") or ""), str(u["role"]))
            for u in users
            if holds_seat(u, roles) and _int(u.get("id")) is not None
        ),
        key=lambda a: (a.name.casefold(), a.id),
    )
    return Observation(credentials.subdomain, now(), tuple(holders), plan, base)


def _client(settings: ReadSettings, workers: int) -> httpx.Client:
    """One client for the whole run: building one loads the CA bundle (~0.1 s), and it is
    thread-safe. Each request carries its own account's Authorization header."""
    import httpx

    return httpx.Client(
        timeout=settings.timeout,
        headers={"Accept": "application/json"},
        follow_redirects=False,
        limits=httpx.Limits(max_connections=workers * 2, max_keepalive_connections=workers),
    )


_USERS_QUERY = [("role[]", "agent"), ("role[]", "admin"), ("page[size]", str(PAGE_SIZE))]


def holds_seat(user: dict[str, Any], custom_roles: dict[int, int]) -> bool:
    """Whether a user from the Users API occupies a paid agent seat."""
    if user.get("role") not in ("agent", "admin"):
        return False
    if user.get("active") is False or user.get("suspended") is True:
        return False
    role_type = user.get("role_type")
    role_id = _int(user.get("custom_role_id"))
    if role_type is None and role_id is not None:
        role_type = custom_roles.get(role_id)
    return _int(role_type) not in UNPAID_ROLE_TYPES


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def read_many(
    credentials: Sequence[Credentials], settings: ReadSettings, now: Callable[[], str]
) -> dict[str, Observation]:
    """Every account, several at once (each account's own requests in turn, within its limit).

    All failures are reported together, one line per account."""
    if len(credentials) == 1:
        return {credentials[0].subdomain: read_account(credentials[0], settings, now)}
    from concurrent.futures import ThreadPoolExecutor

    results: dict[str, Observation] = {}
    failures: list[str] = []
    workers = max(1, min(settings.workers, len(credentials)))
    with _client(settings, workers) as client, ThreadPoolExecutor(workers) as pool:
        futures = [
            (c.subdomain, pool.submit(read_account, c, settings, now, client)) for c in credentials
        ]
        for subdomain, future in futures:
            try:
                results[subdomain] = future.result()
            except ZendeskError as exc:
                failures.append(exc.message)
    if failures:
        more = f" (and {len(failures) - 1} more failures:\n  " if len(failures) > 1 else ""
        rest = "\n  ".join(failures[1:]) + ")" if len(failures) > 1 else ""
        raise ZendeskError(failures[0] + more + rest, hint="nothing was recorded")
    return results


class _Reader:
    """The requests for one account, with its retries and its rate limit."""

    def __init__(
        self, credentials: Credentials, settings: ReadSettings, base: str, client: httpx.Client
    ) -> None:
        self.client = client
        self.auth = {"Authorization": credentials.header}
        self.credentials = credentials
        self.settings = settings
        self.base = base
        self.origin = urlsplit(base)[:2]
        self.wait_until = 0.0  # monotonic time before which the rate limit asks us to wait

    def pages(self, path: str, key: str, query: list[tuple[str, str]]) -> Iterator[dict[str, Any]]:
        url: str | None = self.base + path
        params: list[tuple[str, str]] | None = query
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            assert url is not None
            body = self.get(url, params)
            items = body.get(key)
            if not isinstance(items, list):
                raise self.fail(path, f"the answer has no {key} list")
            yield from (item for item in items if isinstance(item, dict))
            meta, links = body.get("meta") or {}, body.get("links") or {}
            if not meta.get("has_more"):
                return
            url = links.get("next")
            if not isinstance(url, str) or url in seen:
                raise self.fail(path, "meta.has_more is true but links.next is missing or repeats")
            if urlsplit(url)[:2] != self.origin:
                # Never send the account's token to another host.
                raise self.fail(path, f"links.next points away from {self.base}")
            seen.add(url)
            params = None
        raise self.fail(path, f"more than {MAX_PAGES} pages")

    def custom_roles(self) -> dict[int, int]:
        try:
            body = self.get(self.base + "/api/v2/custom_roles.json", None)
        except ZendeskError as exc:
            if exc.status in (403, 404):
                return {}  # custom roles are an Enterprise feature; light agents carry role_type
            raise
        return {
            int(r["id"]): int(r["role_type"])
            for r in body.get("custom_roles") or []
            if isinstance(r, dict)
            and _int(r.get("id")) is not None
            and _int(r.get("role_type")) is not None
        }

    def plan_name(self) -> str | None:
        try:
            body = self.get(self.base + "/api/v2/account/subscription.json", None)
        except ZendeskError as exc:
            if exc.status in (403, 404):
                return None
            raise
        subscription = body.get("subscription")
        name = subscription.get("plan_name") if isinstance(subscription, dict) else None
        return str(name) if name else None

    def get(self, url: str, params: list[tuple[str, str]] | None) -> dict[str, Any]:
        import httpx

        path = urlsplit(url).path
        settings = self.settings
        delay = settings.backoff
        for attempt in range(1, settings.tries + 1):
            self._respect_rate_limit(path)
            last = attempt == settings.tries
            try:
                response = self.client.get(url, params=params, headers=self.auth)  # type: ignore[arg-type]
            except httpx.TimeoutException:
                if last:
                    raise self.fail(
                        path,
                        f"no answer within {settings.timeout:g} s, {settings.tries} tries",
                    ) from None
            except httpx.TransportError as exc:
                if last:
                    raise self.fail(path, f"cannot connect ({type(exc).__name__})") from None
            else:
                self._note_rate_limit(response)
                status = response.status_code
                if status == 200:
                    return self._json(path, response)
                if status == 429:
                    wait = _seconds(response.headers.get("retry-after"), delay)
                    if wait > settings.max_wait or last:
                        raise self.fail(
                            path,
                            f"rate limited (429), Retry-After {wait:g} s"
                            + (
                                f", more than the {settings.max_wait:g} s zplan waits"
                                if wait > settings.max_wait
                                else f", still limited after {settings.tries} tries"
                            ),
                            status=429,
                        )
                    time.sleep(wait)
                    continue
                if status >= 500 and not last:
                    pass  # retried below, after the backoff
                else:
                    raise self._refused(path, response)
            time.sleep(delay)
            delay *= 2
        raise self.fail(path, "no answer")  # not reached: the last try raises

    def _respect_rate_limit(self, path: str) -> None:
        pause = self.wait_until - time.monotonic()
        if pause > self.settings.max_wait:
            raise self.fail(path, f"the rate limit is spent for {pause:.0f} s", status=429)
        if pause > 0:
            time.sleep(pause)

    def _note_rate_limit(self, response: httpx.Response) -> None:
        remaining = response.headers.get("ratelimit-remaining") or response.headers.get(
            "x-rate-limit-remaining"
        )
        if remaining is not None and _int(remaining) is not None and int(remaining) <= 0:
            reset = _seconds(response.headers.get("ratelimit-reset"), 1.0)
            self.wait_until = time.monotonic() + reset

    def _json(self, path: str, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise self.fail(path, "the answer is not JSON") from None
        if not isinstance(body, dict):
            raise self.fail(path, "the answer is not a JSON object")
        return body

    def _refused(self, path: str, response: httpx.Response) -> ZendeskError:
        status = response.status_code
        said = _error_text(response)
        who = self.credentials.who
        if status == 401:
            text = f"401 Unauthorized{said}: Zendesk did not accept the credentials ({who})"
            hint = "check the e-mail and API token (or OAuth token) for this account"
        elif status == 403:
            text = f"403 Forbidden{said}: the credentials ({who}) may not list the account's agents"
            hint = "use an admin's API token (or an OAuth token with the users:read scope)"
        elif status == 404:
            text = f"404 Not Found{said}: no Zendesk account answers at {self.base}"
            hint = "check the subdomain (and --zendesk-url / ZPLAN_ZENDESK_URL)"
        else:
            text = f"{status} {response.reason_phrase}{said}"
            hint = None
        return self.fail(path, text, status=status, hint=hint)

    def fail(
        self, path: str, text: str, *, status: int | None = None, hint: str | None = None
    ) -> ZendeskError:
        return ZendeskError(
            f"cannot read {self.credentials.subdomain} from Zendesk (GET {path}): {text}",
            hint=hint,
            status=status,
        )


def _seconds(value: str | None, default: float) -> float:
    try:
        return max(0.0, float(value)) if value is not None else default
    except ValueError:
        return default


def _error_text(response: httpx.Response) -> str:
    """Zendesk's error body (``{"error": …, "description": …}``), cut short, or nothing."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    if isinstance(error, dict):  # {"error": {"title": …, "message": …}}
        error = error.get("title") or error.get("message")
    parts = [str(p) for p in (error, body.get("description")) if isinstance(p, str) and p]
    text = ": ".join(parts)[:160].replace("\n", " ")
    return f" ({text})" if text else ""
