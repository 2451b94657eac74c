"""Crash logs of the adversarial tests go to the test's own directory, never to /tmp."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def crash_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """TMPDIR (and Python's cached temporary directory) under the test's directory.

    zplan writes a crash log there (``zplan-crash-*.log``) when it hits an
    unexpected error; tests read it from here.
    """
    directory = tmp_path / "tmpdir"
    directory.mkdir()
    monkeypatch.setenv("TMPDIR", str(directory))
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory
