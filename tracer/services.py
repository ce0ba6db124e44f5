"""What the service layer needs besides the session: config, rules, calendar.

Built once per command (or once per daemon, reloaded on demand), so rules are
compiled and checked at load, never at match time.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import date
from functools import cached_property
from pathlib import Path

from tracer.core import paths
from tracer.core.config import Config


class HolidayFile:
    """Public holidays already computed, kept in a JSON file of the data folder.

    The ``holidays`` package takes about 80 ms to load; a command that computes
    a deadline reads the few dates it needs here instead. The file is named
    after the package's version, so an upgrade (a new holiday, a correction)
    computes them again. Any trouble with the file only costs the computation.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self._days: dict[str, list[str]] | None = None

    @cached_property
    def path(self) -> Path | None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return self.folder / f"holidays-{version('holidays')}.json"
        except PackageNotFoundError:
            return None

    def _load(self) -> dict[str, list[str]]:
        if self._days is None:
            try:
                self._days = json.loads(self.path.read_text(encoding="utf-8")) if self.path else {}
            except (OSError, ValueError):
                self._days = {}
        return self._days

    def get(self, zone: str, year: int) -> frozenset[date] | None:
        found = self._load().get(f"{zone}/{year}")
        return frozenset(date.fromisoformat(d) for d in found) if isinstance(found, list) else None

    def put(self, zone: str, year: int, days: frozenset[date]) -> None:
        self._load()[f"{zone}/{year}"] = sorted(d.isoformat() for d in days)
        if self.path is None:
            return
        name = None
        try:
            paths.make_private_dir(self.folder)
            fd, name = tempfile.mkstemp(dir=self.folder, prefix=".holidays-")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(self._days, out)
            os.replace(name, self.path)  # whole or not at all, even with two daemons
        except OSError:
            if name is not None and os.path.exists(name):
                os.unlink(name)


class Runtime:
    def __init__(self, cfg: Config):
        self.cfg = cfg

    @cached_property
    def rules(self):
        from tracer.rules.classify import load_rules

        return load_rules(self.cfg.rules_dir, self.cfg.data_dir)

    @cached_property
    def calendar(self):
        from tracer.rules.calendar import WorkingCalendar

        return WorkingCalendar(
            zone=self.cfg.tracer.holiday_zone,
            closure_days=self.cfg.tracer.closure_days,
            tz=self.cfg.tz,
            store=HolidayFile(self.cfg.data_dir / "cache"),
        )

    @cached_property
    def deadline_rules(self):
        from tracer.rules.deadlines import DeadlineRules, load_deadline_rules

        path = self.cfg.rules_dir / "deadlines.toml"
        return load_deadline_rules(path) if path.exists() else DeadlineRules.default()

    def box(self, name: str | None):
        """The configured mailbox ``name`` (None if not configured)."""
        for box in self.cfg.mailboxes:
            if box.name == name:
                return box
        return None

    def address_of(self, name: str | None) -> str | None:
        """The address of the configured mailbox ``name`` (None if not configured)."""
        box = self.box(name)
        return box.address if box is not None else None

    def check(self) -> None:
        """Load everything now: raises RulesError on invalid rules."""
        self.rules
        self.deadline_rules
        self.calendar

    def check_once(self) -> None:
        """As :meth:`check`, but rules already checked as they are now are not
        compiled again: a command with nothing to classify (a poll with no new
        mail) starts without compiling hundreds of patterns. A stamp named
        after the digest of the rule files and tracer's version is left in the
        data folder's cache after a successful check; the rules are then
        compiled when the first message needs them. Any trouble with the stamp
        only costs the check."""
        stamp = self._rules_stamp()
        if stamp is not None and stamp.exists():
            return
        self.check()
        if stamp is not None:
            try:
                paths.make_private_dir(stamp.parent)
                stamp.touch()
            except OSError:
                pass

    def _rules_stamp(self) -> Path | None:
        import hashlib

        digest = hashlib.sha256()
        try:
            # the code that checks them: another tracer may refuse what this one accepted
            for path in sorted((Path(__file__).parent / "rules").glob("*.py")):
                info = path.stat()
                digest.update(f"{path.name}:{info.st_size}:{info.st_mtime_ns}\0".encode())
            for path in sorted(Path(self.cfg.rules_dir).glob("*.toml")):
                digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        except OSError:
            return None
        return self.cfg.data_dir / "cache" / f"rules-checked-{digest.hexdigest()[:32]}"
