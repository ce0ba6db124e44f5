"""Ingest benchmark: ``tracer poll`` against a bare fetch + parse of the same mailbox.

    .venv/bin/python bench/ingest.py [--messages 3000] [--batch 200] [--sizes small|realistic|both]

Starts a private Dovecot (root, Debian's dovecot-imapd), fills a mailbox with
varied French messages (the labelled corpus of the tests: ``small``, about
1 KB each, which lays bare the per-message costs; and ``realistic``, the same
messages as mail clients send them: signature and legal notice, HTML
alternative, every fifth with a scanned document), then times, for each:
  1. a bare script: imapclient fetch in batches (BODY.PEEK[] + INTERNALDATE)
     and mail-parser's parse of each message, nothing stored;
  2. ``tracer poll`` (the real command, SQLite, a fresh database each time),
     recording everything (parsed, classified by the shipped rules, deadlines,
     raw bytes compressed, one commit per batch);
  3. ``tracer poll`` again, with nothing new.
Each is run ``--repeat`` times, alternated; medians are printed, with the CPU
time the whole machine spent (Dovecot and tracer's worker process included).
Target: poll within 1.5x of the bare script, an idle poll under 1 s.
"""

from __future__ import annotations

import argparse
import compileall
import os
import random
import json
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


SIGNATURE = (
    "\n\n--\nCamille Bernard\n12 rue des Alpes, 74000 Annecy\nTél. 06 12 34 56 78\n\n"
    "Ce message et ses pièces jointes sont confidentiels et destinés exclusivement à leurs "
    "destinataires. Si vous avez reçu ce message par erreur, merci de le détruire et d'en "
    "avertir l'expéditeur. Pensez à l'environnement avant d'imprimer ce courriel.\n"
)


def realistic(raw: bytes, i: int) -> bytes:
    """The same message as a mail client sends it: a signature and its legal notice,
    an HTML alternative with the client's styles, and every fifth message a scanned
    document (a few hundred kilobytes), as citizens attach to their requests."""
    import email
    import email.policy
    from email.message import EmailMessage

    original = email.message_from_bytes(raw, policy=email.policy.default)
    if original.get_content_type() != "text/plain":
        return raw  # reports, HTML-only mail: as they are
    text = original.get_content() + SIGNATURE
    msg = EmailMessage()
    for name, value in original.items():
        if name.lower() not in ("content-type", "content-transfer-encoding", "mime-version"):
            msg[name] = value
    msg.set_content(text)
    style = "<style>p{margin:0;font-family:Calibri,Arial,sans-serif;font-size:11pt}" + ".x{color:#1f497d}" * 60 + "</style>"
    paragraphs = "".join(f"<p class=MsoNormal>{line or '&nbsp;'}</p>" for line in text.splitlines())
    msg.add_alternative(f"<html><head>{style}</head><body lang=FR>{paragraphs}</body></html>", subtype="html")
    if i % 5 == 0:
        msg.add_attachment(random.Random(i).randbytes(150_000 + (i * 7919) % 300_000), maintype="application",
                           subtype="pdf", filename=f"scan_{i}.pdf")
    return bytes(msg)


def fill(server: Dovecot, user: str, count: int, sizes: str = "small") -> int:
    base = datetime(2026, 7, 1, 8, tzinfo=timezone.utc)
    client = server.client(user)
    total = 0
    try:
        for i in range(count):
            raw = build(i + 1, CORPUS[i % len(CORPUS)]).replace(
                f"<corpus-{i + 1}@".encode(), f"<bench-{i}@".encode(), 1
            )
            raw = raw.replace(b"Message-ID: <corpus-", f"Message-ID: <bench-{i}-".encode(), 1)
            if sizes == "realistic":
                raw = realistic(raw, i)
            total += len(raw)
            client.append("INBOX", raw, msg_time=base + timedelta(minutes=7 * i))
    finally:
        client.logout()
    return total


def machine_cpu() -> float:
    """CPU seconds spent by the whole machine so far (every process, every core)."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    busy = fields[0] + fields[1] + fields[2] + sum(fields[5:8])  # user nice system irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK")


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


def measure(server: Dovecot, sizes: str, args) -> None:
    user, _ = server.add_user(f"bench-{sizes}@haute-savoie.gouv.fr")
    t0 = time.perf_counter()
    volume = fill(server, user, args.messages, sizes)
    print(f"\n== {sizes} mail ==\nmailbox filled: {args.messages} messages ({volume / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s")
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
        bare_runs, script_runs, poll_runs, idle_runs, cpu_runs, bare_cpu_runs = [], [], [], [], [], []
        for _ in range(args.repeat):  # alternated, so that a busy moment hits both
            bare_s, parsed = bare(server.port, user, args.batch)
            bare_runs.append(bare_s)
            # the bare script as a script: its own interpreter start and imports, like tracer poll
            cpu_before = machine_cpu()
            t0 = time.perf_counter()
            subprocess.run([sys.executable, __file__, "--bare", str(server.port), user, str(args.batch)], check=True)
            script_runs.append(time.perf_counter() - t0)
            bare_cpu_runs.append(machine_cpu() - cpu_before)
            for leftover in Path(tmp).glob("bench.db*"):
                leftover.unlink()
            subprocess.run(upgrade, check=True, capture_output=True)
            cpu_before = machine_cpu()
            t0 = time.perf_counter()
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            poll_runs.append(time.perf_counter() - t0)
            cpu_runs.append(machine_cpu() - cpu_before)
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            idle_runs.append(time.perf_counter() - t0)
        startup = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tracer", "--version"], check=True, capture_output=True)
        startup_s = time.perf_counter() - startup
    bare_s, bare_script_s, poll_s, idle_s = (statistics.median(r) for r in (bare_runs, script_runs, poll_runs, idle_runs))
    print(f"medians of {args.repeat} alternated runs (min in brackets)")
    print(f"bare fetch + mail-parser parse : {bare_s:7.2f} s [{min(bare_runs):.2f}] for {parsed} messages ({parsed / bare_s:,.0f} msg/s)")
    print(f"bare, run as a script          : {bare_script_s:7.2f} s [{min(script_runs):.2f}] (with its interpreter start and imports;"
          f" machine CPU {statistics.median(bare_cpu_runs):.2f} s)")
    print(f"tracer poll (record all)       : {poll_s:7.2f} s [{min(poll_runs):.2f}]  -> {json.loads(out)['recorded']} recorded")
    print(f"  machine CPU during the poll  : {statistics.median(cpu_runs):7.2f} s (Dovecot and tracer's worker included)")
    print(f"ratio poll / bare (in-process) : {poll_s / bare_s:7.2f}")
    print(f"ratio poll / bare script       : {poll_s / bare_script_s:7.2f}  (target <= 1.5)")
    print(f"tracer poll, nothing new       : {idle_s:7.2f} s [{min(idle_runs):.2f}] (target < 1 s; of which interpreter start ~{startup_s:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3, help="alternated runs of each measurement (medians)")
    parser.add_argument("--sizes", choices=["small", "realistic", "both"], default="both",
                        help="small: the labelled corpus as it is (~1 KB each, the per-message overhead laid bare); "
                             "realistic: as mail clients send it, with signature, HTML alternative and every fifth "
                             "a scanned attachment; both (default)")
    args = parser.parse_args()
    # tracer's own modules compiled to bytecode, as pip does for an installed package
    # (an editable install in a tree where Python may not write __pycache__ would
    # otherwise compile them at every start, which the installed bare script never does)
    compileall.compile_dir(str(ROOT / "tracer"), quiet=1)
    server = Dovecot().start()
    try:
        for sizes in (["small", "realistic"] if args.sizes == "both" else [args.sizes]):
            measure(server, sizes, args)
    finally:
        server.destroy()


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--bare":
        bare(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    else:
        main()
