#!/usr/bin/env python3
"""The drift check's report, from a zplan plan document: which accounts differ, and what to do."""

import json
import sys

with open(sys.argv[1], encoding="utf-8") as handle:
    plan = json.load(handle)
directory = sys.argv[2]
lines = []
for account in plan.get("accounts", []):
    name, path = account["subdomain"], account["config"]["path"]
    for live in (account.get("observed") or {}).get("drift") or []:
        lines.append(f"- LIVE {name}: {live}. Bring {path} and the record in line (see docs/zendesk.md)")
    if not account["changes"]:
        continue
    changes = ", ".join(c["address"] for c in account["changes"])
    if account.get("drift"):
        lines.append(
            f"- DRIFT {name}: changed outside zplan since its last apply ({changes}). "
            f"Adopt the change: zplan export {name} -o {path}; or undo it: zplan apply {path}"
        )
    elif not account["prior"]["exists"]:
        lines.append(f"- {name}: {path} was never applied (first purchase pending)")
    else:
        lines.append(
            f"- {name}: {path} differs from the store ({changes}): a merged change not "
            "applied yet, or an apply from another file"
        )
unmanaged = plan.get("unmanaged") or []
out = []
if lines:
    out.append(f"zplan: the state store differs from the files in {directory}:")
    out += lines
else:
    out.append(f"zplan: no drift: the state store matches the files in {directory}.")
if unmanaged:
    out.append(
        f"Unmanaged (in the store, described by no file; never changed): {', '.join(unmanaged)}"
    )
sys.stdout.write("\n".join(out) + "\n")
