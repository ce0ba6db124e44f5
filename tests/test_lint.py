"""pyflakes over the package: an undefined name is a crash waiting for its command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Imported for their side effect: the tables register with SQLModel's metadata.
ALLOWED = ("tracer/store/db.py:14:1: 'tracer.store.models' imported but unused", "tracer/store/migrations/env.py:6:1: 'tracer.store.models' imported but unused")


def test_pyflakes_finds_nothing_in_the_package():
    result = subprocess.run([sys.executable, "-m", "pyflakes", "tracer"], cwd=ROOT, capture_output=True, text=True)
    findings = [line for line in result.stdout.splitlines() if line.strip() and not line.startswith(ALLOWED)]
    assert findings == []
