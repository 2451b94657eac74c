#!/usr/bin/env python3
"""zplan validate --format json, or a plan document (its guardrails), → a GitLab Code
Quality report (problems on the MR diff)."""

import hashlib
import json
import sys

with open(sys.argv[1], encoding="utf-8") as handle:
    report = json.load(handle)
issues = []
for d in report.get("diagnostics", []):
    where = f"{d['file']}:{d['line']}:{d['column']}"
    text = f"{d['path']}: {d['message']}" + (f" ({d['hint']})" if d.get("hint") else "")
    issues.append(
        {
            "type": "issue",
            "check_name": f"zplan/{d.get('code') or d['severity']}",
            "description": text,
            "severity": "major" if d["severity"] == "error" else "minor",
            "fingerprint": hashlib.sha256(f"{where}:{text}".encode()).hexdigest(),
            "location": {"path": d["file"], "lines": {"begin": d["line"]}},
        }
    )
# A plan document: each guardrail result on the subscription file it is about.
policy = report.get("policy") or {}
for level in ("deny", "warn"):
    for entry in policy.get(level, []):
        text = f"{entry['message']} [{entry['source']}]"
        issues.append(
            {
                "type": "issue",
                "check_name": "zplan/guardrail",
                "description": text,
                "severity": "major" if level == "deny" else "minor",
                "fingerprint": hashlib.sha256(f"{entry.get('file')}:{text}".encode()).hexdigest(),
                "location": {"path": entry.get("file") or ".", "lines": {"begin": 1}},
            }
        )
json.dump(issues, sys.stdout, indent=2)
sys.stdout.write("\n")
