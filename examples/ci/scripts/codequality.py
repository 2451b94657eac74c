#!/usr/bin/env python3
"""zplan validate --format json → a GitLab Code Quality report (problems on the MR diff)."""

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
json.dump(issues, sys.stdout, indent=2)
sys.stdout.write("\n")
