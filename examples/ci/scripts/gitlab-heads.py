#!/usr/bin/env python3
"""GitLab: fetch the audit heads published by the newest job that wrote the store.

    gitlab-heads.py OUTPUT

Every zplan job that writes (zplan-apply in merge-request pipelines, zplan-apply-on-merge
on the default branch, zplan-confirm) runs in a protected environment and keeps
``zplan-heads.json`` as an artifact. This finds the newest of them, whatever ref or
pipeline it ran in: the successful deployments of those environments (GitLab's
Deployments API, ``GET /projects/:id/deployments?environment=…&status=success&
order_by=finished_at&sort=desc``), the ones made by a writing job, newest finished
first; the first whose artifact holds the file (``GET /projects/:id/jobs/:job_id/
artifacts/zplan-heads.json``) wins. Only a job allowed to deploy to a protected
environment makes a deployment there, so a merge request cannot publish heads of its
own by adding a job to the pipeline.

Exit 0 with OUTPUT written; exit 0 without OUTPUT (and a line saying so) when no
writing job has published heads yet; exit 1 when GitLab cannot be asked (an error
must never read as "nothing published").

    CI_API_V4_URL, CI_PROJECT_ID          as GitLab sets them
    ZPLAN_GITLAB_TOKEN                    a project access token (read_api); else CI_JOB_TOKEN
    ZPLAN_HEADS_ENVIRONMENTS              default "zendesk-billing zendesk-owner"
    ZPLAN_HEADS_JOBS                      default "zplan-apply zplan-apply-on-merge zplan-confirm"
    ZPLAN_HEADS_ARTIFACT                  default "zplan-heads.json"

Standard library only.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from typing import Any

PER_PAGE = 100


def say(text: str) -> None:
    print(f"zplan-ci: {text}", file=sys.stderr)  # noqa: T201 - a CI script's log


def get(url: str, headers: dict[str, str]) -> bytes:
    req = urllib.request.Request(url, headers=headers)  # noqa: S310 - the API's URL
    with urllib.request.urlopen(req, timeout=30) as response:  # noqa: S310 - the API's URL
        body: bytes = response.read()
    return body


def finished(deployment: dict[str, Any]) -> datetime:
    job = deployment.get("deployable") or {}
    stamp = job.get("finished_at") or deployment.get("updated_at") or "1970-01-01T00:00:00Z"
    return datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))


def valid_heads(raw: bytes) -> bool:
    try:
        heads = json.loads(raw)
    except ValueError:
        return False
    return isinstance(heads, list) and all(
        isinstance(h, dict) and {"subdomain", "serial", "hash"} <= set(h) for h in heads
    )


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: gitlab-heads.py OUTPUT", file=sys.stderr)  # noqa: T201
        return 1
    output = argv[1]
    api = os.environ.get("CI_API_V4_URL", "").rstrip("/")
    project = os.environ.get("CI_PROJECT_ID", "")
    if not api or not project:
        say("CI_API_V4_URL and CI_PROJECT_ID are not set: cannot look for the published heads")
        return 1
    token = os.environ.get("ZPLAN_GITLAB_TOKEN")
    if token:
        headers = {"PRIVATE-TOKEN": token}
    elif os.environ.get("CI_JOB_TOKEN"):
        headers = {"JOB-TOKEN": os.environ["CI_JOB_TOKEN"]}
    else:
        say("neither ZPLAN_GITLAB_TOKEN nor CI_JOB_TOKEN is set: cannot ask GitLab")
        return 1
    environments = os.environ.get(
        "ZPLAN_HEADS_ENVIRONMENTS", "zendesk-billing zendesk-owner"
    ).split()
    jobs = set(
        os.environ.get("ZPLAN_HEADS_JOBS", "zplan-apply zplan-apply-on-merge zplan-confirm").split()
    )
    artifact = os.environ.get("ZPLAN_HEADS_ARTIFACT", "zplan-heads.json")
    base = f"{api}/projects/{urllib.parse.quote(project, safe='')}"

    candidates: list[dict[str, Any]] = []
    try:
        for environment in environments:
            query = urllib.parse.urlencode(
                {
                    "environment": environment,
                    "status": "success",
                    "order_by": "finished_at",
                    "sort": "desc",
                    "per_page": PER_PAGE,
                }
            )
            listed = json.loads(get(f"{base}/deployments?{query}", headers))
            if not isinstance(listed, list):
                say(f"GitLab answered the deployments of {environment} with something else")
                return 1
            candidates += [d for d in listed if (d.get("deployable") or {}).get("name") in jobs]
        candidates.sort(key=finished, reverse=True)
        for deployment in candidates:
            job = deployment["deployable"]
            url = f"{base}/jobs/{int(job['id'])}/artifacts/{urllib.parse.quote(artifact)}"
            try:
                raw = get(url, headers)
            except urllib.error.HTTPError as exc:
                if exc.code == 404:  # this job published none (it failed before), or expired
                    continue
                raise
            if not valid_heads(raw):
                say(f"the {artifact} of job {job['name']} #{job['id']} is not a list of heads")
                return 1
            with open(output, "wb") as out:
                out.write(raw)
            pipeline = (job.get("pipeline") or {}).get("id", "?")
            say(
                f"audit heads of job {job['name']} #{job['id']} (ref {deployment.get('ref', '?')}, "
                f"pipeline {pipeline}, finished {job.get('finished_at', '?')}) saved to {output}"
            )
            return 0
    except urllib.error.HTTPError as exc:
        where = str(exc.filename or "").split("?")[0]
        say(f"GitLab refused {where}: HTTP {exc.code} {exc.reason}")
        say("give the job ZPLAN_GITLAB_TOKEN (a project access token, read_api, Reporter)")
        return 1
    except (urllib.error.URLError, OSError, ValueError) as exc:
        say(f"cannot ask GitLab for the published heads: {exc}")
        return 1
    say(
        "no audit heads published yet: no successful job of "
        f"{', '.join(sorted(jobs))} in {', '.join(environments)} kept {artifact}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
