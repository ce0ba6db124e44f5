"""Ingest benchmark: ``tracer poll`` against a bare fetch + parse of the same mailbox.

    .venv/bin/python bench/ingest.py [--messages 3000] [--batch 200]

Starts a private Dovecot (root, Debian's dovecot-imapd), fills one mailbox with
varied French messages, then times in one run:
  1. a bare script: imapclient fetch in batches (BODY.PEEK[] + INTERNALDATE)
     and mail-parser's parse of each message, nothing stored;
  2. ``tracer poll`` (the real command, SQLite), recording everything;
  3. ``tracer poll`` again, with nothing new.
Prints the figures and the ratio (target: poll within 1.5x of the bare script,
an idle poll under 1 s).
"""

from __future__ import annotations

import argparse
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
    args = parser.parse_args()
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
            bare_s, parsed = bare(server.port, user, args.batch)
            # the bare script as a script: its own interpreter start and imports, like tracer poll
            t0 = time.perf_counter()
            subprocess.run([sys.executable, __file__, "--bare", str(server.port), user, str(args.batch)], check=True)
            bare_script_s = time.perf_counter() - t0
            cmd = [sys.executable, "-m", "tracer", "--config", str(config), "poll", "--json"]
            subprocess.run([sys.executable, "-m", "tracer", "--config", str(config), "db", "upgrade"], check=True, capture_output=True)
            t0 = time.perf_counter()
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            poll_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            idle_s = time.perf_counter() - t0
            startup = time.perf_counter()
            subprocess.run([sys.executable, "-m", "tracer", "--version"], check=True, capture_output=True)
            startup_s = time.perf_counter() - startup
        print(f"bare fetch + mail-parser parse : {bare_s:7.2f} s for {parsed} messages ({parsed / bare_s:,.0f} msg/s)")
        print(f"tracer poll (record all)       : {poll_s:7.2f} s  -> {out.strip().splitlines()[1].strip() if out else ''}")
        print(f"bare, run as a script          : {bare_script_s:7.2f} s (with its interpreter start and imports)")
        print(f"ratio poll / bare (in-process) : {poll_s / bare_s:7.2f}")
        print(f"ratio poll / bare script       : {poll_s / bare_script_s:7.2f}  (target <= 1.5)")
        print(f"tracer poll, nothing new       : {idle_s:7.2f} s  (target < 1 s; of which interpreter start ~{startup_s:.2f} s)")
    finally:
        server.destroy()


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--bare":
        bare(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    else:
        main()
