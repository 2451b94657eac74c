#!/usr/bin/env python3
"""Post zplan's comment on the pull request (GitHub) or merge request (GitLab).

    comment.py [--comment-behavior BEHAVIOR] FILE

FILE starts with its marker line (``<!-- zplan-plan -->``); zplan's earlier
comments are the ones that start with the same line. Infracost's behaviours:

    update          (default) edit the latest earlier comment in place, or post one
    new             post a new comment every time
    hide-and-new    hide the earlier comments (GitHub: minimized as outdated; GitLab,
                    which cannot hide a note: folded into "outdated"), then post
    delete-and-new  delete the earlier comments, then post
    on-change       post only when the priced result changed since the latest
                    comment (a hash of the comment without its <sub> footers, which
                    name the commit, the run and the date)

GitHub: GITHUB_TOKEN, GITHUB_REPOSITORY, and the pull request's number in
ZPLAN_PR_NUMBER (or read from GITHUB_EVENT_PATH); GITHUB_API_URL and
GITHUB_GRAPHQL_URL as Actions sets them. GitLab (when GITLAB_CI is true):
ZPLAN_GITLAB_TOKEN, CI_API_V4_URL, CI_PROJECT_ID, CI_MERGE_REQUEST_IID.
Standard library only. Exit 0 when the comment is where it should be.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import urllib.request
from typing import Any

BEHAVIORS = ("update", "new", "hide-and-new", "delete-and-new", "on-change")
DIGEST = "<!-- zplan-digest: {} -->"


def digest(body: str) -> str:
    """What the comment says about money: the body without footers and without this line."""
    kept = [
        line
        for line in body.splitlines()
        if not line.startswith("<sub>") and not line.startswith("<!-- zplan-digest:")
    ]
    return hashlib.sha256("\n".join(kept).strip().encode()).hexdigest()


def request(method: str, url: str, headers: dict[str, str], data: Any = None) -> Any:
    body = None if data is None else json.dumps(data).encode()
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as response:  # noqa: S310 - the API's URL
        raw = response.read()
    return json.loads(raw) if raw.strip() else None


class GitHub:
    def __init__(self) -> None:
        self.api = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
        self.graphql = os.environ.get("GITHUB_GRAPHQL_URL", f"{self.api}/graphql")
        self.repo = os.environ["GITHUB_REPOSITORY"]
        self.number = os.environ.get("ZPLAN_PR_NUMBER") or self._event_number()
        self.headers = {
            "Authorization": f"Bearer {os.environ['GITHUB_TOKEN']}",
            "Accept": "application/vnd.github+json",
        }

    @staticmethod
    def _event_number() -> str:
        with open(os.environ["GITHUB_EVENT_PATH"], encoding="utf-8") as handle:
            event = json.load(handle)
        return str((event.get("pull_request") or event["issue"])["number"])

    def comments(self) -> list[dict[str, Any]]:
        found, page = [], 1
        while True:
            url = f"{self.api}/repos/{self.repo}/issues/{self.number}/comments?per_page=100&page={page}"
            batch = request("GET", url, self.headers)
            found += [{"id": c["id"], "node_id": c.get("node_id"), "body": c["body"]} for c in batch]
            if len(batch) < 100:
                return found
            page += 1

    def post(self, body: str) -> None:
        url = f"{self.api}/repos/{self.repo}/issues/{self.number}/comments"
        request("POST", url, self.headers, {"body": body})

    def edit(self, comment: dict[str, Any], body: str) -> None:
        url = f"{self.api}/repos/{self.repo}/issues/comments/{comment['id']}"
        request("PATCH", url, self.headers, {"body": body})

    def delete(self, comment: dict[str, Any]) -> None:
        request("DELETE", f"{self.api}/repos/{self.repo}/issues/comments/{comment['id']}", self.headers)

    def hide(self, comment: dict[str, Any]) -> None:
        query = (
            "mutation($id: ID!) { minimizeComment(input: {subjectId: $id, classifier: OUTDATED})"
            " { minimizedComment { isMinimized } } }"
        )
        request("POST", self.graphql, self.headers, {"query": query, "variables": {"id": comment["node_id"]}})


class GitLab:
    def __init__(self) -> None:
        base = os.environ["CI_API_V4_URL"].rstrip("/")
        self.url = (
            f"{base}/projects/{os.environ['CI_PROJECT_ID']}/merge_requests/"
            f"{os.environ['CI_MERGE_REQUEST_IID']}/notes"
        )
        self.headers = {"PRIVATE-TOKEN": os.environ["ZPLAN_GITLAB_TOKEN"]}

    def comments(self) -> list[dict[str, Any]]:
        found, page = [], 1
        while True:
            url = f"{self.url}?per_page=100&page={page}&sort=asc&order_by=created_at"
            batch = request("GET", url, self.headers)
            found += [{"id": n["id"], "body": n["body"]} for n in batch if not n.get("system")]
            if len(batch) < 100:
                return found
            page += 1

    def post(self, body: str) -> None:
        request("POST", self.url, self.headers, {"body": body})

    def edit(self, comment: dict[str, Any], body: str) -> None:
        request("PUT", f"{self.url}/{comment['id']}", self.headers, {"body": body})

    def delete(self, comment: dict[str, Any]) -> None:
        request("DELETE", f"{self.url}/{comment['id']}", self.headers)

    def hide(self, comment: dict[str, Any]) -> None:
        # GitLab notes cannot be hidden: fold the old one away, without its marker.
        old = comment["body"].split("\n", 1)[-1]
        body = f"<details><summary>Outdated zplan comment</summary>\n\n{old}\n\n</details>"
        self.edit(comment, body)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comment-behavior", choices=BEHAVIORS, default="update")
    parser.add_argument("file")
    args = parser.parse_args(argv)
    with open(args.file, encoding="utf-8") as handle:
        text = handle.read()
    if not text.strip():
        return 0
    marker = text.split("\n", 1)[0]
    fingerprint = digest(text)
    body = text.rstrip("\n") + "\n\n" + DIGEST.format(fingerprint) + "\n"
    forge = GitLab() if os.environ.get("GITLAB_CI") == "true" else GitHub()
    earlier = [c for c in forge.comments() if c["body"].startswith(marker)]
    behavior = args.comment_behavior
    if behavior == "on-change":
        if earlier and DIGEST.format(fingerprint) in earlier[-1]["body"]:
            print("zplan-ci: the priced result has not changed since the last comment; not posting")
            return 0
        forge.post(body)
    elif behavior == "update" and earlier:
        forge.edit(earlier[-1], body)
    elif behavior == "hide-and-new":
        for comment in earlier:
            forge.hide(comment)
        forge.post(body)
    elif behavior == "delete-and-new":
        for comment in earlier:
            forge.delete(comment)
        forge.post(body)
    else:
        forge.post(body)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
