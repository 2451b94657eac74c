"""The client against a real HTTP server on 127.0.0.1: seats, pagination, limits, failures."""

from __future__ import annotations

import time

import pytest
from zplan.zendesk.client import ReadSettings, ZendeskError, read_account, read_many
from zplan.zendesk.credentials import api_token, oauth

from tests.zendesk.fake import CONTRIBUTOR_ROLE, LIGHT_AGENT_ROLE, FakeZendesk, Fault, agent, team

NOW = "2026-11-27T12:00:00Z"


def settings(zendesk: FakeZendesk, **kwargs: object) -> ReadSettings:
    return ReadSettings(url=zendesk.url, **kwargs)  # type: ignore[arg-type]


def creds(zendesk: FakeZendesk, subdomain: str = "acme"):  # type: ignore[no-untyped-def]
    account = zendesk.accounts[subdomain]
    return api_token(subdomain, account.email, account.token)


def test_counts_only_agents_holding_a_paid_seat(zendesk: FakeZendesk) -> None:
    zendesk.add(
        "acme",
        [
            agent(1, "Zoe Admin", "admin", role_type=4),
            agent(2, "Bea Agent"),
            agent(3, "Light Lou", role_type=1),  # a light agent, by role_type
            agent(4, "Cora Contributor", custom_role_id=CONTRIBUTOR_ROLE),  # by custom role
            agent(5, "Lia Light", custom_role_id=LIGHT_AGENT_ROLE),
            agent(6, "Sam Suspended", suspended=True),
            agent(7, "Ida Inactive", active=False),
            agent(8, "Eve End-user", "end-user"),
            agent(9, "Al Staff", custom_role_id=9000),  # a custom agent role holds a seat
        ],
    )
    seen = read_account(creds(zendesk), settings(zendesk), lambda: NOW)
    assert [a.name for a in seen.agents] == ["Al Staff", "Bea Agent", "Zoe Admin"]
    assert seen.seats_in_use == 3
    assert seen.observed_at == NOW and seen.plan is None
    paths = [p for s, p, _ in zendesk.requests]
    assert paths[0].startswith("/api/v2/users.json?")
    assert "role%5B%5D=agent&role%5B%5D=admin&page%5Bsize%5D=100" in paths[0]
    assert any(p.startswith("/api/v2/custom_roles.json") for p in paths)


def test_custom_roles_are_not_read_when_every_agent_has_a_role_type(
    zendesk: FakeZendesk,
) -> None:
    zendesk.add("acme", [agent(1, "A", role_type=0), agent(2, "B", role_type=1)])
    seen = read_account(creds(zendesk), settings(zendesk), lambda: NOW)
    assert seen.seats_in_use == 1
    assert len(zendesk.requests) == 1


def test_more_than_a_thousand_agents_across_pages(zendesk: FakeZendesk) -> None:
    zendesk.add("acme", [*team(1234), agent(99999, "Light", role_type=1)])
    seen = read_account(creds(zendesk), settings(zendesk), lambda: NOW)
    assert seen.seats_in_use == 1_234
    assert len(zendesk.requests) == 13  # 1,235 users, 100 a page
    assert seen.agents[0].name == "Agent 00001" and seen.agents[-1].name == "Agent 01234"


def test_a_429_waits_retry_after_then_reads(zendesk: FakeZendesk) -> None:
    account = zendesk.add("acme", team(3))
    account.faults.append(Fault(429, {"Retry-After": "1"}, {"error": "TooManyRequests"}))
    started = time.monotonic()
    seen = read_account(creds(zendesk), settings(zendesk), lambda: NOW)
    assert seen.seats_in_use == 3
    assert time.monotonic() - started >= 1.0
    assert len(zendesk.requests) == 2


def test_a_retry_after_longer_than_zplan_waits_is_one_line(zendesk: FakeZendesk) -> None:
    account = zendesk.add("acme", team(3))
    account.faults.append(Fault(429, {"Retry-After": "3600"}))
    with pytest.raises(ZendeskError) as caught:
        read_account(creds(zendesk), settings(zendesk), lambda: NOW)
    assert str(caught.value).splitlines()[0] == (
        "cannot read acme from Zendesk (GET /acme/api/v2/users.json): rate limited (429), "
        "Retry-After 3600 s, more than the 120 s zplan waits"
    )


def test_ratelimit_remaining_zero_waits_for_the_reset(zendesk: FakeZendesk) -> None:
    account = zendesk.add("acme", team(150))
    account.headers = {"ratelimit-remaining": "0", "ratelimit-reset": "1"}
    seen = read_account(creds(zendesk), settings(zendesk), lambda: NOW)
    assert seen.seats_in_use == 150
    (_, _, first), (_, _, second) = zendesk.requests
    assert second - first >= 1.0


def test_a_500_then_success(zendesk: FakeZendesk) -> None:
    account = zendesk.add("acme", team(2))
    account.faults.append(Fault(500, body={"error": "InternalError"}))
    seen = read_account(creds(zendesk), settings(zendesk, backoff=0.05), lambda: NOW)
    assert seen.seats_in_use == 2
    assert len(zendesk.requests) == 2


def test_5xx_every_time_gives_up_with_one_line(zendesk: FakeZendesk) -> None:
    account = zendesk.add("acme", team(2))
    account.faults.extend(Fault(503) for _ in range(5))
    with pytest.raises(ZendeskError) as caught:
        read_account(creds(zendesk), settings(zendesk, backoff=0.01, tries=3), lambda: NOW)
    assert caught.value.message.endswith("503 Service Unavailable")
    assert len(zendesk.requests) == 3


def test_a_slow_answer_is_retried_then_read(zendesk: FakeZendesk) -> None:
    account = zendesk.add("acme", team(2))
    account.faults.append(Fault(delay=1.5))
    seen = read_account(creds(zendesk), settings(zendesk, timeout=0.3, backoff=0.01), lambda: NOW)
    assert seen.seats_in_use == 2


def test_no_answer_within_the_timeout_is_one_line(zendesk: FakeZendesk) -> None:
    account = zendesk.add("acme", team(2))
    account.faults.extend(Fault(delay=1.0) for _ in range(2))
    with pytest.raises(ZendeskError) as caught:
        read_account(
            creds(zendesk), settings(zendesk, timeout=0.2, tries=2, backoff=0.01), lambda: NOW
        )
    assert caught.value.message == (
        "cannot read acme from Zendesk (GET /acme/api/v2/users.json): no answer within 0.2 s, "
        "2 tries"
    )


@pytest.mark.parametrize(
    ("status", "body", "expected", "hint"),
    [
        (
            401,
            {"error": "Couldn't authenticate you"},
            "401 Unauthorized (Couldn't authenticate you): Zendesk did not accept the "
            "credentials (admin@example.test)",
            "check the e-mail and API token",
        ),
        (
            403,
            {"error": "Forbidden", "description": "You do not have access to this page."},
            "403 Forbidden (Forbidden: You do not have access to this page.): the credentials "
            "(admin@example.test) may not list the account's agents",
            "use an admin's API token",
        ),
        (
            404,
            {"error": "RecordNotFound", "description": "Not found"},
            "404 Not Found (RecordNotFound: Not found): no Zendesk account answers at",
            "check the subdomain",
        ),
    ],
)
def test_refusals_are_one_clear_line(
    zendesk: FakeZendesk, status: int, body: dict[str, str], expected: str, hint: str
) -> None:
    account = zendesk.add("acme", team(2))
    account.faults.append(Fault(status, body=body))
    with pytest.raises(ZendeskError) as caught:
        read_account(creds(zendesk), settings(zendesk), lambda: NOW)
    message = caught.value.message
    assert expected in message and "\n" not in message
    assert caught.value.hint is not None and hint in caught.value.hint
    assert account.token not in str(caught.value)


def test_wrong_token_and_unknown_subdomain(zendesk: FakeZendesk) -> None:
    zendesk.add("acme", team(2))
    with pytest.raises(ZendeskError, match="401 Unauthorized"):
        read_account(api_token("acme", "admin@example.test", "wrong"), settings(zendesk), str)
    with pytest.raises(ZendeskError, match=r"404 Not Found.*no Zendesk account answers at"):
        read_account(api_token("acmee", "a@b.c", "t"), settings(zendesk), str)


def test_oauth_bearer_token(zendesk: FakeZendesk) -> None:
    zendesk.add("acme", team(4), oauth="bearer-value")
    seen = read_account(oauth("acme", "bearer-value"), settings(zendesk), lambda: NOW)
    assert seen.seats_in_use == 4


def test_a_next_link_to_another_host_is_not_followed(zendesk: FakeZendesk) -> None:
    zendesk.add("acme", team(150))
    # The same server under another name: a token must never go to a host it was not for.
    other = zendesk.url.replace("127.0.0.1", "localhost")
    with pytest.raises(ZendeskError, match=r"links\.next points away from"):
        read_account(creds(zendesk), ReadSettings(url=other), lambda: NOW)


def test_plan_name_only_behind_the_flag(zendesk: FakeZendesk) -> None:
    zendesk.add("acme", team(2), plan_name="Professional")
    assert read_account(creds(zendesk), settings(zendesk), str).plan is None
    seen = read_account(creds(zendesk), settings(zendesk, read_plan=True), str)
    assert seen.plan == "Professional"


def test_many_accounts_read_together_report_every_failure(zendesk: FakeZendesk) -> None:
    for name in ("a1", "a2", "a3"):
        zendesk.add(name, team(5))
    zendesk.accounts["a2"].faults.append(Fault(401, body={"error": "Couldn't authenticate you"}))
    zendesk.accounts["a3"].faults.append(Fault(404, body={"error": "RecordNotFound"}))
    with pytest.raises(ZendeskError) as caught:
        read_many([creds(zendesk, n) for n in ("a1", "a2", "a3")], settings(zendesk), str)
    text = str(caught.value)
    assert "cannot read a2" in text and "cannot read a3" in text and "a1" not in text
