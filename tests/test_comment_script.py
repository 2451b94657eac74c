"""examples/ci/scripts/comment.py against a local HTTP server that keeps comments like GitHub
and GitLab do: each --comment-behavior, run as CI runs it (a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "examples" / "ci" / "scripts" / "comment.py"
MARKER = "<!-- zplan-plan -->"


class Forge:
    """Comments of pull request 7 (GitHub) or merge request 7 (GitLab), kept in memory."""

    def __init__(self) -> None:
        self.comments: list[dict[str, Any]] = []
        self.next_id = 100
        self.calls: list[str] = []

    def add(self, body: str) -> dict[str, Any]:
        self.next_id += 1
        comment = {
            "id": self.next_id,
            "node_id": f"IC_{self.next_id}",
            "body": body,
            "hidden": False,
        }
        self.comments.append(comment)
        return comment


def _handler(forge: Forge) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length)) if length else None

        def _send(self, code: int, value: Any = None) -> None:
            raw = b"" if value is None else json.dumps(value).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _authorised(self) -> bool:
            ok = (
                self.headers.get("Authorization") == "Bearer t0ken"
                or self.headers.get("PRIVATE-TOKEN") == "t0ken"
            )
            if not ok:
                self._send(401, {"message": "Bad credentials"})
            return ok

        def _route(self, method: str) -> None:
            if not self._authorised():
                return
            path, _, query = self.path.partition("?")
            forge.calls.append(f"{method} {path}")
            body = self._body() if method in ("POST", "PATCH", "PUT") else None
            listing = path in (
                "/repos/o/r/issues/7/comments",
                "/api/v4/projects/3/merge_requests/7/notes",
            )
            if method == "GET" and listing:
                params = dict(p.split("=") for p in query.split("&") if p)
                page, size = int(params.get("page", 1)), int(params.get("per_page", 30))
                chunk = forge.comments[(page - 1) * size : page * size]
                return self._send(
                    200, [{k: c[k] for k in ("id", "node_id", "body")} for c in chunk]
                )
            if method == "POST" and listing:
                return self._send(201, forge.add(body["body"]))
            if method == "POST" and path == "/graphql":
                for comment in forge.comments:
                    if comment["node_id"] == body["variables"]["id"]:
                        comment["hidden"] = True
                return self._send(
                    200, {"data": {"minimizeComment": {"minimizedComment": {"isMinimized": True}}}}
                )
            ident = int(path.rsplit("/", 1)[-1])
            [comment] = [c for c in forge.comments if c["id"] == ident]
            if method in ("PATCH", "PUT"):
                comment["body"] = body["body"]
                return self._send(200, comment)
            forge.comments.remove(comment)
            return self._send(204)

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def do_PATCH(self) -> None:
            self._route("PATCH")

        def do_PUT(self) -> None:
            self._route("PUT")

        def do_DELETE(self) -> None:
            self._route("DELETE")

    return Handler


@pytest.fixture
def forge() -> Iterator[tuple[Forge, str]]:
    state = Forge()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _post(url: str, tmp_path: Path, text: str, behavior: str | None, gitlab: bool = False) -> str:
    comment = tmp_path / "zplan-comment.md"
    comment.write_text(text, encoding="utf-8")
    if gitlab:
        env = {
            "GITLAB_CI": "true",
            "CI_API_V4_URL": f"{url}/api/v4",
            "CI_PROJECT_ID": "3",
            "CI_MERGE_REQUEST_IID": "7",
            "ZPLAN_GITLAB_TOKEN": "t0ken",
        }
    else:
        env = {
            "GITHUB_API_URL": url,
            "GITHUB_GRAPHQL_URL": f"{url}/graphql",
            "GITHUB_REPOSITORY": "o/r",
            "GITHUB_TOKEN": "t0ken",
            "ZPLAN_PR_NUMBER": "7",
        }
    flags = [] if behavior is None else ["--comment-behavior", behavior]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *flags, str(comment)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **env},
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _plan(amount: str, commit: str = "abc") -> str:
    return f"{MARKER}\n### 💰 zplan: monthly cost will increase by {amount}\n\n<sub>Plan for commit {commit}</sub>\n"


def test_update_edits_the_comment_in_place(forge: tuple[Forge, str], tmp_path: Path) -> None:
    state, url = forge
    state.add("an unrelated review comment")
    _post(url, tmp_path, _plan("$10.00"), None)
    _post(url, tmp_path, _plan("$20.00"), "update")
    assert [c["body"].splitlines()[1] for c in state.comments[1:]] == [
        "### 💰 zplan: monthly cost will increase by $20.00"
    ]
    assert state.comments[0]["body"] == "an unrelated review comment"


def test_new_posts_every_time(forge: tuple[Forge, str], tmp_path: Path) -> None:
    state, url = forge
    _post(url, tmp_path, _plan("$10.00"), "new")
    _post(url, tmp_path, _plan("$10.00"), "new")
    assert len(state.comments) == 2


def test_hide_and_new_minimizes_the_earlier_comments(
    forge: tuple[Forge, str], tmp_path: Path
) -> None:
    state, url = forge
    _post(url, tmp_path, _plan("$10.00"), "new")
    _post(url, tmp_path, _plan("$20.00"), "hide-and-new")
    assert [c["hidden"] for c in state.comments] == [True, False]
    assert "POST /graphql" in state.calls


def test_delete_and_new_leaves_one_comment(forge: tuple[Forge, str], tmp_path: Path) -> None:
    state, url = forge
    state.add("someone else's comment")
    _post(url, tmp_path, _plan("$10.00"), "new")
    _post(url, tmp_path, _plan("$11.00"), "new")
    _post(url, tmp_path, _plan("$20.00"), "delete-and-new")
    assert len(state.comments) == 2
    assert "$20.00" in state.comments[-1]["body"]


def test_on_change_posts_only_when_the_priced_result_changed(
    forge: tuple[Forge, str], tmp_path: Path
) -> None:
    state, url = forge
    _post(url, tmp_path, _plan("$10.00", commit="aaa"), "on-change")
    said = _post(
        url, tmp_path, _plan("$10.00", commit="bbb"), "on-change"
    )  # a new commit, same money
    assert "not posting" in said
    assert len(state.comments) == 1
    _post(url, tmp_path, _plan("$12.00", commit="ccc"), "on-change")
    assert len(state.comments) == 2
    assert "$12.00" in state.comments[-1]["body"]


def test_gitlab_notes_update_and_fold_when_hiding(forge: tuple[Forge, str], tmp_path: Path) -> None:
    state, url = forge
    _post(url, tmp_path, _plan("$10.00"), "update", gitlab=True)
    _post(url, tmp_path, _plan("$15.00"), "update", gitlab=True)
    assert len(state.comments) == 1 and "$15.00" in state.comments[0]["body"]
    _post(url, tmp_path, _plan("$20.00"), "hide-and-new", gitlab=True)
    assert state.comments[0]["body"].startswith("<details><summary>Outdated zplan comment")
    assert state.comments[1]["body"].startswith(MARKER)
