"""A small Zendesk on 127.0.0.1: the endpoints zplan reads, with the shapes Zendesk documents.

Each account lives under its own path prefix (``http://127.0.0.1:PORT/acme``),
so that one server serves many accounts through ``--zendesk-url
http://127.0.0.1:PORT/{subdomain}``. Users follow the Users API's JSON
(``id``, ``name``, ``role``, ``role_type``, ``custom_role_id``, ``active``,
``suspended``), lists use cursor pagination (``page[size]``, ``page[after]``,
``meta.has_more``, ``meta.after_cursor``, ``links.next``), and errors carry
Zendesk's bodies (``{"error": "Couldn't authenticate you"}``, ``{"error":
"RecordNotFound", "description": "Not found"}``). Faults are queued per account:
a status with headers, or a delay.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

LIGHT_AGENT_ROLE = 9001
CONTRIBUTOR_ROLE = 9003


@dataclass
class Fault:
    status: int = 200  # 200: answer normally after ``delay``
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0


@dataclass
class FakeAccount:
    email: str = "admin@example.test"
    token: str = "s3cr3t-token-value"
    oauth: str | None = None
    users: list[dict[str, Any]] = field(default_factory=list)
    plan_name: str | None = None
    faults: deque[Fault] = field(default_factory=deque)
    headers: dict[str, str] = field(default_factory=dict)  # added to every answer

    def authorised(self, header: str | None) -> bool:
        basic = base64.b64encode(f"{self.email}/token:{self.token}".encode()).decode()
        return header == f"Basic {basic}" or (
            self.oauth is not None and header == f"Bearer {self.oauth}"
        )


def agent(user_id: int, name: str, role: str = "agent", **extra: Any) -> dict[str, Any]:
    return {
        "id": user_id,
        "url": f"https://example.zendesk.com/api/v2/users/{user_id}.json",
        "name": name,
        "email": f"user{user_id}@example.test",
        "role": role,
        "role_type": extra.pop("role_type", None),
        "custom_role_id": extra.pop("custom_role_id", None),
        "active": extra.pop("active", True),
        "suspended": extra.pop("suspended", False),
        "created_at": "2025-01-01T00:00:00Z",
        **extra,
    }


def team(count: int, start: int = 1) -> list[dict[str, Any]]:
    """``count`` agents holding a seat, named so that their alphabetical order is their number."""
    return [agent(start + i, f"Agent {start + i:05d}") for i in range(count)]


class FakeZendesk:
    def __init__(self) -> None:
        self.accounts: dict[str, FakeAccount] = {}
        self.requests: list[tuple[str, str, float]] = []  # (subdomain, path?query, time)
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        port = self.server.server_address[1]
        return f"http://127.0.0.1:{port}/{{subdomain}}"

    def base(self, subdomain: str) -> str:
        return self.url.replace("{subdomain}", subdomain)

    def add(self, subdomain: str, users: list[dict[str, Any]], **kwargs: Any) -> FakeAccount:
        account = FakeAccount(users=users, **kwargs)
        self.accounts[subdomain] = account
        return account

    def env(self, subdomain: str) -> dict[str, str]:
        account = self.accounts[subdomain]
        return {"ZENDESK_EMAIL": account.email, "ZENDESK_API_TOKEN": account.token}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                _, subdomain, rest = (
                    parts.path.split("/", 2) if parts.path.count("/") >= 2 else ("", "", "")
                )
                with fake.lock:
                    fake.requests.append((subdomain, f"/{rest}?{parts.query}", time.monotonic()))
                account = fake.accounts.get(subdomain)
                if account is None:
                    return self.answer(404, {"error": "RecordNotFound", "description": "Not found"})
                fault = account.faults.popleft() if account.faults else None
                if fault is not None:
                    time.sleep(fault.delay)
                    if fault.status != 200:
                        return self.answer(fault.status, fault.body, fault.headers)
                if not account.authorised(self.headers.get("Authorization")):
                    return self.answer(401, {"error": "Couldn't authenticate you"})
                query = parse_qs(parts.query)
                extra = account.headers
                if rest == "api/v2/users.json":
                    return self.answer(200, self.users(account, subdomain, query), extra)
                if rest == "api/v2/custom_roles.json":
                    roles = [
                        {"id": LIGHT_AGENT_ROLE, "name": "Light agent", "role_type": 1},
                        {"id": CONTRIBUTOR_ROLE, "name": "Contributor", "role_type": 3},
                        {"id": 9000, "name": "Staff", "role_type": 0},
                    ]
                    return self.answer(200, {"custom_roles": roles, "count": 3}, extra)
                if rest == "api/v2/account/subscription.json" and account.plan_name:
                    return self.answer(200, {"subscription": {"plan_name": account.plan_name}})
                return self.answer(404, {"error": "InvalidEndpoint", "description": "Not found"})

            def users(
                self, account: FakeAccount, subdomain: str, query: dict[str, list[str]]
            ) -> dict[str, Any]:
                roles = set(query.get("role[]", []))
                size = int(query.get("page[size]", ["100"])[0])
                after = int(query.get("page[after]", ["0"])[0])
                chosen = [u for u in account.users if not roles or u["role"] in roles]
                page = chosen[after : after + size]
                more = after + size < len(chosen)
                base = fake.base(subdomain)
                cursor = str(after + size)
                return {
                    "users": page,
                    "meta": {"has_more": more, "after_cursor": cursor, "before_cursor": str(after)},
                    "links": {
                        "next": f"{base}/api/v2/users.json?page%5Bsize%5D={size}"
                        f"&role%5B%5D=agent&role%5B%5D=admin&page%5Bafter%5D={cursor}"
                        if more
                        else None,
                        "prev": None,
                    },
                }

            def answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.send_header("ratelimit-limit", "700")
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        return Handler
