"""Ingest benchmark: ``tracer poll`` against a bare fetch + parse of the same mailbox.

    .venv/bin/python bench/ingest.py [--messages 3000] [--batch 200]

Starts a private Dovecot (root, Debian's dovecot-imapd), fills one mailbox with
varied French messages, then times in one run:
  1. a bare script: imapclient fetch in batches (BODY.PEEK[] + INTERNALDATE)
     and mail-parser's parse of each message, nothing stored;
  2. ``tracer poll`` (the real command, SQLite, a fresh database each time),
     recording everything, and its CPU time (worker process included);
  3. ``tracer poll`` again, with nothing new.
Each is run ``--repeat`` times, alternated; medians are printed.
Prints the figures and the ratio (target: poll within 1.5x of the bare script,
an idle poll under 1 s).
"""

from __future__ import annotations

import argparse
import compileall
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import imapclient  # noqa: E402
import mailparser  # noqa: E402

from corpus_classification import CORPUS, build  # noqa: E402
from dovecot import PASSWORD, Dovecot  # noqa: E402


def fill(server: Dovecot, user: str, count: int) -> None:
    base = datetime(2026, 7, 1, 8, tzinfo=timezone.utc)
    client = server.client(user)
    try:
        for i in range(count):
            raw = build(i + 1, CORPUS[i % len(CORPUS)]).replace(
                f"<corpus-{i + 1}@".encode(), f"<bench-{i}@".encode(), 1
            )
            raw = raw.replace(b"Message-ID: <corpus-", f"Message-ID: <bench-{i}-".encode(), 1)
            client.append("INBOX", raw, msg_time=base + timedelta(minutes=7 * i))
    finally:
        client.logout()


def bare(port: int, user: str, batch: int) -> tuple[float, int]:
    began = time.perf_counter()
    client = imapclient.IMAPClient("127.0.0.1", port=port, ssl=False)
    client.login(user, PASSWORD)
    client.select_folder("INBOX", readonly=True)
    uids = client.search(["UID", "1:*"])
    parsed = 0
    for start in range(0, len(uids), batch):
        for uid, data in client.fetch(uids[start : start + batch], ["BODY.PEEK[]", "INTERNALDATE"]).items():
            mailparser.parse_from_bytes(data[b"BODY[]"])
            parsed += 1
    client.logout()
    return time.perf_counter() - began, parsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3, help="alternated runs of each measurement (medians)")
    args = parser.parse_args()
    # tracer's own modules compiled to bytecode, as pip does for an installed package
    # (an editable install in a tree where Python may not write __pycache__ would
    # otherwise compile them at every start, which the installed bare script never does)
    compileall.compile_dir(str(ROOT / "tracer"), quiet=1)
    server = Dovecot().start()
    try:
        user, _ = server.add_user("bench@haute-savoie.gouv.fr")
        t0 = time.perf_counter()
        fill(server, user, args.messages)
        print(f"mailbox filled: {args.messages} messages in {time.perf_counter() - t0:.1f} s")
        with tempfile.TemporaryDirectory() as tmp:
            secret = Path(tmp) / "pw"
            secret.write_text(PASSWORD)
            config = Path(tmp) / "tracer.toml"
            config.write_text(
                f'[tracer]\ndatabase_url = "sqlite:///{tmp}/bench.db"\nreference_prefix = "BENCH"\n\n'
                f'[[mailbox]]\nname = "bench"\naddress = "{user}"\nhost = "127.0.0.1"\nport = {server.port}\n'
                f'tls = "none"\npassword_file = "{secret}"\nbatch_size = {args.batch}\n'
            )
            bare(server.port, user, args.batch)  # warm the server's caches for both runs
            upgrade = [sys.executable, "-m", "tracer", "--config", str(config), "db", "upgrade"]
            cmd = [sys.executable, "-m", "tracer", "--config", str(config), "poll", "--json"]
            bare_runs, script_runs, poll_runs, idle_runs, cpu_runs = [], [], [], [], []
            for _ in range(args.repeat):  # alternated, so that a busy moment hits both
                bare_s, parsed = bare(server.port, user, args.batch)
                bare_runs.append(bare_s)
                # the bare script as a script: its own interpreter start and imports, like tracer poll
                t0 = time.perf_counter()
                subprocess.run([sys.executable, __file__, "--bare", str(server.port), user, str(args.batch)], check=True)
                script_runs.append(time.perf_counter() - t0)
                for leftover in Path(tmp).glob("bench.db*"):
                    leftover.unlink()
                subprocess.run(upgrade, check=True, capture_output=True)
                cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter()
                out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                poll_runs.append(time.perf_counter() - t0)
                cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu_runs.append((cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime))
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True)
                idle_runs.append(time.perf_counter() - t0)
            startup = time.perf_counter()
            subprocess.run([sys.executable, "-m", "tracer", "--version"], check=True, capture_output=True)
            startup_s = time.perf_counter() - startup
        bare_s, bare_script_s, poll_s, idle_s = (statistics.median(r) for r in (bare_runs, script_runs, poll_runs, idle_runs))
        print(f"medians of {args.repeat} alternated runs (min in brackets)")
        print(f"bare fetch + mail-parser parse : {bare_s:7.2f} s [{min(bare_runs):.2f}] for {parsed} messages ({parsed / bare_s:,.0f} msg/s)")
        print(f"bare, run as a script          : {bare_script_s:7.2f} s [{min(script_runs):.2f}] (with its interpreter start and imports)")
        print(f"tracer poll (record all)       : {poll_s:7.2f} s [{min(poll_runs):.2f}]  -> {json.loads(out)['recorded']} recorded")
        print(f"  CPU time of tracer poll      : {statistics.median(cpu_runs):7.2f} s (its worker process included)")
        print(f"ratio poll / bare (in-process) : {poll_s / bare_s:7.2f}")
        print(f"ratio poll / bare script       : {poll_s / bare_script_s:7.2f}  (target <= 1.5)")
        print(f"tracer poll, nothing new       : {idle_s:7.2f} s [{min(idle_runs):.2f}] (target < 1 s; of which interpreter start ~{startup_s:.2f} s)")
    finally:
        server.destroy()


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--bare":
        bare(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    else:
        main()
