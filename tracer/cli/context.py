"""What every command handler gets: config, database, clock, output."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

from tracer.core import clock
from tracer.core import config as config_mod
from tracer.core.errors import UserError


class Context:
    """Lazily loads the configuration and opens the database.

    Configuration problems exit 2 with one French line each; user errors
    (:class:`tracer.errors.UserError`) exit with their code and one line.
    """

    def __init__(self, args):
        self.args = args
        self._config = None
        self._engine = None
        self._console = None
        self._err = None

    @property
    def console(self):
        """Plain-text output on stdout, fitted to the terminal (:class:`tracer.cli.tables.Output`)."""
        if self._console is None:
            from tracer.cli.tables import Output

            self._console = Output()
        return self._console

    @property
    def err(self):
        if self._err is None:
            from tracer.cli.tables import Output

            self._err = Output(sys.stderr)
        return self._err

    @property
    def config(self) -> config_mod.Config:
        if self._config is None:
            try:
                self._config = config_mod.load(getattr(self.args, "config", None))
            except config_mod.ConfigError as exc:
                for line in exc.problems:
                    sys.stderr.write(f"configuration : {line}\n")
                raise SystemExit(2)
        return self._config

    def require_secrets(self, mailboxes: list[str] | None = None, smtp: bool = False) -> None:
        """Before connecting: every password needed can be read, else exit 2
        with one line per key (other commands run without them)."""
        problems = self.config.secret_problems(mailboxes, smtp)
        for line in self.config.secret_warnings(mailboxes, smtp):
            sys.stderr.write(f"configuration : avertissement : {line}\n")
        for line in problems:
            sys.stderr.write(f"configuration : {line}\n")
        if problems:
            raise SystemExit(2)

    @property
    def engine(self):
        if self._engine is None:
            from tracer.store import db  # SQLAlchemy and the models: only for commands that use the database

            try:
                self._engine = db.open_engine(self.config.database_url)
            except db.DatabaseError as exc:
                fail(str(exc))
        return self._engine

    def session(self):
        from tracer.store import db

        return db.session_scope(self.engine)

    def reading(self):
        """A session for a command that only reads: on SQLite it never waits for a writer."""
        from tracer.store import db

        return db.read_scope(self.engine)

    def now(self) -> datetime:
        return clock.now()

    def as_of(self, value: str | None) -> datetime:
        """``--as-of T`` (ISO 8601; naive values in the configured zone) or now."""
        if not value:
            return self.now()
        try:
            return clock.parse_instant(value, self.config.tz)
        except ValueError:
            fail(f"--as-of : date JJ/MM/AAAA [HH:MM] ou instant ISO 8601 attendu, reçu « {value} »")

    def print_json(self, data: Any) -> None:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def fail(message: str, code: int = 1) -> None:
    """Print one French line on stderr and exit."""
    from tracer.cli.tables import clean

    sys.stderr.write(f"tracer : {clean(message)}\n")
    raise SystemExit(code)


def run_user_errors(func):
    """Decorator for handlers: a UserError becomes one French line, not a traceback."""

    def wrapper(args, ctx):
        try:
            return func(args, ctx)
        except UserError as exc:
            fail(str(exc), exc.exit_code)

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper
