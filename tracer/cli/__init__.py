"""Command line: ``tracer [--config FILE] COMMAND …``.

Each command group lives in its own module exposing ``register(subparsers)``;
a command's handler receives ``(args, ctx)`` where ``ctx`` is a
:class:`tracer.cli.context.Context` (config, engine, now, console).  Handlers
parse, call one service function and print: no SQL, no business rules here.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys

from tracer import __version__
from tracer.cli import french
from tracer.cli.context import Context, fail
from tracer.core.errors import UserError

# Command modules, in the order of ``tracer --help``.
COMMAND_MODULES = [
    "tracer.cli.ingest_cmds",     # poll, import, quarantine, demo
    "tracer.cli.register_cmds",   # cases, show, register-paper, reclassify, transfer
    "tracer.cli.db_cmds",         # db upgrade
    "tracer.cli.rules_cmds",      # rules check, classify --explain
    "tracer.cli.replies_cmds",    # replies, link
    "tracer.cli.reply_cmds",      # templates, reply, outbox
    "tracer.cli.stats_cmds",      # stats, sample, control
    "tracer.cli.daemon_cmds",     # run, alerts, status
    "tracer.cli.digest_cmds",     # digest
    "tracer.cli.privacy_cmds",    # purge, person
    "tracer.cli.web_cmds",        # web, user
]


class FrenchHelpFormatter(argparse.HelpFormatter):
    """Section headings as French writes them: « Options : »."""

    def start_section(self, heading):
        if heading:
            heading = heading[:1].upper() + heading[1:] + " "
        super().start_section(heading)


# A command whose start-up time matters registers its own module only (the
# others import SQLAlchemy, the models, the rules…); --help and every other
# command register them all.
ALONE = {"poll": "tracer.cli.ingest_cmds", "run": "tracer.cli.daemon_cmds"}
GLOBAL_WITH_VALUE = {"--config", "--log-format"}


def command_of(argv: list[str]) -> str | None:
    """The command named by ``argv`` (after the global options), if any."""
    args = iter(argv)
    for arg in args:
        if arg in GLOBAL_WITH_VALUE:
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


class FrenchArgumentParser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", FrenchHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # argparse's errors: one French line, exit 2
        sys.stderr.write(f"{self.prog} : {message} (voir « {self.prog} --help »)\n")
        raise SystemExit(2)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    french.install()
    parser = FrenchArgumentParser(prog="tracer", description="Traçabilité des courriels et réclamations (Qual-e-Pref).")
    parser.add_argument("--config", help="fichier de configuration TOML (sinon TRACER_CONFIG, sinon ./tracer.toml)")
    parser.add_argument("--log-format", choices=["text", "json"], default="text", help="format des journaux")
    parser.add_argument("--version", action="version", version=f"tracer {__version__}",
                        help="affiche la version de tracer et quitte")
    sub = parser.add_subparsers(dest="command", metavar="COMMANDE", parser_class=FrenchArgumentParser)
    alone = ALONE.get(command_of(sys.argv[1:] if argv is None else argv) or "")
    for name in [alone] if alone else COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # a command group not written yet
                continue
            raise
        module.register(sub)
    french.fill_common_help(parser)
    return parser


def _stopped_while_starting(*_):
    raise SystemExit(0)  # nothing runs yet: stopping is exiting


def main(argv: list[str] | None = None) -> int:
    if command_of(sys.argv[1:] if argv is None else argv) == "run":
        import signal

        # SIGTERM while tracer run is still loading (seconds on a busy machine)
        # exits 0 like a stop; the daemon installs its own handler once started
        signal.signal(signal.SIGTERM, _stopped_while_starting)
    parser = build_parser(argv)
    # The libraries' objects, imported above, live as long as the process:
    # keep the collector from walking them again on every full collection.
    gc.freeze()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    ctx = Context(args)
    try:
        return args.handler(args, ctx) or 0
    except UserError as exc:
        from tracer.cli.tables import clean

        sys.stderr.write(f"tracer : {clean(exc)}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from sqlalchemy.exc import DBAPIError

        if not isinstance(exc, DBAPIError):
            raise
        # the database refused or was busy beyond its timeout: one French line, no
        # traceback and no SQL parameters (they can quote a citizen's data)
        from tracer.cli.tables import clean

        detail = str(exc.orig).splitlines()[0] if exc.orig is not None else exc.__class__.__name__
        sys.stderr.write(f"tracer : erreur de la base de données ({clean(detail)}) ; réessayez la commande\n")
        return 1
    except BrokenPipeError:  # « tracer cases | head »: the reader left, nothing to say
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        ctx.close()


__all__ = ["main", "fail", "Context"]
