"""Where the shipped data lives (wheel or source checkout) and the user's data dir."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent  # the tracer package


def _shipped(name: str) -> Path:
    """``rules`` / ``reply_templates``: inside the wheel, else the checkout's top level."""
    installed = PACKAGE / "_defaults" / name
    if installed.is_dir():
        return installed
    return PACKAGE.parent / name


def default_rules_dir() -> Path:
    return _shipped("rules")


def default_corpora_dir() -> Path:
    """The labelled corpora the scorer is trained on: in the wheel, else the checkout's tests/corpora."""
    installed = PACKAGE / "_defaults" / "corpora"
    if installed.is_dir():
        return installed
    return PACKAGE.parent / "tests" / "corpora"


def default_templates_dir() -> Path:
    return _shipped("reply_templates")


def demo_mail_dir() -> Path:
    return PACKAGE / "demo_mail"


def user_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "tracer"


def make_private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parent readable by the service account only
    (0700: the data folder holds the database and the model, personal data).
    Folders that already exist are left as they are."""
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(folder, 0o700)  # whatever the umask
    return path
