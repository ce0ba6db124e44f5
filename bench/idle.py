"""A poll with nothing new: the whole ``tracer poll`` command, and one poll cycle
inside the daemon, on a 100,000-message mailbox.

    .venv/bin/python bench/idle.py [--messages 100000] [--repeat 15] [--profile FILE]

Starts a private Dovecot (root, Debian's dovecot-imapd), builds the mailbox by
writing Maildir files directly (small French requests, one file each), lets
Dovecot index it (a first SELECT and UID SEARCH), then records it as polled:
the inbox's folder state is set at the mailbox's UIDVALIDITY and highest UID
(recording 100,000 messages through ``tracer poll`` would take minutes and
measure ingest, which bench/ingest.py does). The register itself is empty:
a poll with nothing new does not read it.

Then times, medians of ``--repeat`` runs (min in brackets):
  1. ``tracer poll`` with nothing new, the whole command (interpreter start,
     imports, configuration, database, IMAP login, both folders): goal < 0.3 s;
  2. one poll cycle inside the daemon (``Daemon.poll``: the connection, the
     inbox's and the Sent folder's UID SEARCH, the folder states): goal < 50 ms.
``--profile FILE`` writes a cProfile of one whole command to FILE.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from dovecot import PASSWORD, Dovecot  # noqa: E402
from mailfactory import make_mail  # noqa: E402

GOAL_COMMAND_S = 0.3
GOAL_CYCLE_MS = 50.0


def build_maildir(server: Dovecot, user: str, count: int) -> None:
    """``count`` messages written straight into the user's Maildir (cur/, seen)."""
    maildir = server.base / "mail" / user / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    template = make_mail(to=user, message_id="<idle-bench-XXXXXXXX@bench.fr>", subject="Demande de renseignements")
    stamp = int(time.time()) - count
    for i in range(count):
        raw = template.replace(b"XXXXXXXX", b"%08d" % i)
        (maildir / "cur" / f"{stamp + i}.M{i}P1.bench,S={len(raw)}:2,S").write_bytes(raw)
    for path in [server.base / "mail" / user, *(server.base / "mail" / user).rglob("*")]:
        shutil.chown(path, "dovecot", "dovecot")


def index(server: Dovecot, user: str) -> tuple[int, int]:
    """Let Dovecot index the Maildir; (UIDVALIDITY, highest UID)."""
    client = server.client(user)
    try:
        info = client.select_folder("INBOX", readonly=True)
        uids = client.search(["UID", "1:*"])
        client.close_folder()
        if not client.folder_exists("Sent"):
            client.create_folder("Sent")
        return int(info[b"UIDVALIDITY"]), max(uids)
    finally:
        client.logout()


def write_config(tmp: Path, server: Dovecot, user: str) -> Path:
    secret = tmp / "pw"
    secret.write_text(PASSWORD)
    config = tmp / "tracer.toml"
    config.write_text(
        f'[tracer]\ndatabase_url = "sqlite:///{tmp}/bench.db"\nreference_prefix = "BENCH"\n\n'
        f'[[mailbox]]\nname = "bench"\naddress = "{user}"\nservice = "qualite"\nhost = "127.0.0.1"\n'
        f'port = {server.port}\ntls = "none"\npassword_file = "{secret}"\nsent = "Sent"\n'
    )
    return config


def mark_polled(config: Path, uidvalidity: int, high: int) -> None:
    """The inbox recorded up to ``high``, as after a complete poll."""
    from sqlmodel import Session

    from tracer.core import config as config_mod
    from tracer.mail import ingest
    from tracer.store import db

    cfg = config_mod.load(str(config))
    engine = db.open_engine(cfg.database_url)
    with Session(engine) as session:
        state = ingest._folder_state(session, "bench", "INBOX", "inbox")
        state.uidvalidity, state.last_uid = uidvalidity, high
        session.add(state)
        session.commit()
    engine.dispose()


def command_times(config: Path, repeat: int, env: dict) -> list[float]:
    cmd = [sys.executable, "-m", "tracer", "--config", str(config), "poll", "--json"]
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
        runs.append(time.perf_counter() - t0)
        assert '"recorded": 0' in out, out
    return runs


def cycle_times(config: Path, repeat: int, profile: str | None = None) -> list[float]:
    from tracer import daemon
    from tracer.core import config as config_mod
    from tracer.store import db

    cfg = config_mod.load(str(config))
    engine = db.open_engine(cfg.database_url)
    runner = daemon.Daemon(cfg, engine)
    runner.poll("bench")  # warm: imports, the rules, the connection pool
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        runner.poll("bench")
        runs.append(time.perf_counter() - t0)
    if profile:
        import cProfile

        cProfile.runctx("for _ in range(20): runner.poll('bench')", globals(), locals(), profile)
        print(f"profile of 20 daemon cycles written to {profile}")
    assert runner.health["bench"].failures == 0, "the poll failed"
    engine.dispose()
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--profile", help="write a cProfile of one whole command to this file")
    parser.add_argument("--profile-cycle", help="write a cProfile of 20 daemon poll cycles to this file")
    args = parser.parse_args()
    compileall.compile_dir(str(ROOT / "tracer"), quiet=1)  # bytecode, as an installed package has
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = Dovecot().start()
    try:
        user, _ = server.add_user("releve@haute-savoie.gouv.fr")
        t0 = time.perf_counter()
        build_maildir(server, user, args.messages)
        built = time.perf_counter() - t0
        t0 = time.perf_counter()
        uidvalidity, high = index(server, user)
        print(f"mailbox: {args.messages:,} messages written in {built:.1f} s, indexed by Dovecot in {time.perf_counter() - t0:.1f} s")
        with tempfile.TemporaryDirectory() as tmp:
            config = write_config(Path(tmp), server, user)
            subprocess.run([sys.executable, "-m", "tracer", "--config", str(config), "db", "upgrade"],
                           check=True, capture_output=True, env=env)
            mark_polled(config, uidvalidity, high)
            command_times(config, 2, env)  # warm the caches (server, page cache)
            if args.profile:
                subprocess.run([sys.executable, "-m", "cProfile", "-o", args.profile, "-m", "tracer", "--config", str(config),
                                "poll"], check=True, capture_output=True, env=env)
                print(f"profile of one command written to {args.profile}")
            commands = command_times(config, args.repeat, env)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            bare_python = time.perf_counter() - t0
            cycles = cycle_times(config, args.repeat, args.profile_cycle)
    finally:
        server.destroy()
    command = statistics.median(commands)
    cycle = statistics.median(cycles) * 1000
    print(f"medians of {args.repeat} runs (min in brackets), mailbox of {args.messages:,} messages, nothing new")
    print(f"tracer poll, whole command : {command:6.3f} s [{min(commands):.3f}]  goal < {GOAL_COMMAND_S} s: "
          f"{'met' if command < GOAL_COMMAND_S else 'NOT met'}  (python -c pass: {bare_python:.3f} s)")
    print(f"daemon poll cycle          : {cycle:6.1f} ms [{min(cycles) * 1000:.1f}]  goal < {GOAL_CYCLE_MS:.0f} ms: "
          f"{'met' if cycle < GOAL_CYCLE_MS else 'NOT met'}")


if __name__ == "__main__":
    main()
