"""Synthetic account files for the benchmark, seeded, and cached on disk by size and seed.

Each account is realistic: suite or standalone products, editions from team to
enterprise, add-ons, promotions, annual and monthly billing, billing admins. The same
(index, seed) always gives the same file, so a tree of 50,000 files is generated once
(a few seconds) and kept in ``bench/out/trees/`` for the next runs.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREES = ROOT / "bench" / "out" / "trees"
GENERATOR = 1  # bump when account_file changes: cached trees are keyed by it
OWNER = "owner@holding.example"  # one owner for every brand account, as a holding has

_SUITE = ["team", "growth", "professional", "enterprise"]
_SUPPORT = ["team", "professional", "enterprise"]
_ADDONS_SUITE = {  # add-on -> lowest suite edition rank
    "copilot": 2,
    "quality_assurance": 0,
    "workforce_management": 0,
    "advanced_data_privacy": 1,
}


def account_file(rng: random.Random, index: int, bump: bool = False) -> tuple[str, str]:
    """(subdomain, YAML text) for one realistic account; ``bump`` adds seats (a change)."""
    sub = f"acct{index:06d}" if index >= 100_000 else f"acct{index:05d}"
    cycle = "annual" if rng.random() < 0.7 else "monthly"
    lines = [
        "# yaml-language-server: $schema=../../schemas/subscription.schema.json",
        "zplan: 1",
        "account:",
        f"  subdomain: {sub}",
        f"  owner: {OWNER}",
    ]
    if rng.random() < 0.3:
        lines += ["  billing_admins:", f"    - finance@{sub}.example"]
    lines += [
        "billing:",
        f"  cycle: {cycle}",
        f"  payment: {rng.choice(['card', 'paypal', 'bank_debit'])}",
    ]
    if rng.random() < 0.25:
        lines.append("  promo_code: LOYALTY5")
    lines += [
        "agreements:",
        "  master_subscription_agreement: accepted",
        "  privacy_policy: accepted",
        "products:",
    ]
    agents = rng.randint(1, 200) + (5 if bump else 0)
    if rng.random() < 0.6:
        rank = rng.randrange(len(_SUITE))
        lines += ["  suite:", f"    edition: {_SUITE[rank]}", f"    agents: {agents}"]
        addons = [a for a, low in _ADDONS_SUITE.items() if rank >= low and rng.random() < 0.35]
        if addons and cycle == "annual":
            lines.append("    addons:")
            lines += [f"      {a}: {rng.randint(1, agents)}" for a in addons]
    else:
        lines += ["  support:", f"    edition: {rng.choice(_SUPPORT)}", f"    agents: {agents}"]
        if rng.random() < 0.5:
            lines += ["  chat:", "    edition: professional", f"    agents: {max(1, agents // 2)}"]
        if rng.random() < 0.3:
            lines += ["  guide:", "    edition: professional", f"    agents: {max(1, agents // 3)}"]
    return sub, "\n".join(lines) + "\n"


def write_accounts(
    directory: Path, count: int, seed: int, bump_every: int = 0, first: int = 0
) -> list[str]:
    """Write ``count`` account files (indexes from ``first``); every ``bump_every``-th one
    gets more seats. Replaces ``directory``."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    subs = []
    rng = random.Random()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    for index in range(first, first + count):
        rng.seed(seed * 1_000_003 + index)
        bump = bool(bump_every) and index % bump_every == 0
        sub, text = account_file(rng, index, bump)
        descriptor = os.open(directory / f"{sub}.yaml", flags, 0o644)
        try:
            os.write(descriptor, text.encode("utf-8"))
        finally:
            os.close(descriptor)
        subs.append(sub)
    return subs


def cached_tree(count: int, seed: int, trees: Path = TREES) -> tuple[Path, bool]:
    """The directory of ``count`` first-purchase files for ``seed``, generated once:
    (path, whether it came from the cache). A tree is complete only once its marker is
    written, so an interrupted generation is redone."""
    directory = trees / f"n{count}-s{seed}-g{GENERATOR}"
    marker = trees / f"n{count}-s{seed}-g{GENERATOR}.complete"
    if marker.exists() and directory.is_dir():
        return directory, True
    trees.mkdir(parents=True, exist_ok=True)
    write_accounts(directory, count, seed)
    marker.write_text(f"{count}\n", encoding="utf-8")
    return directory, False
