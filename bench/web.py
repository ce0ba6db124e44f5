"""Web benchmark: « Mes demandes » (/demandes) and « Une demande » (/demandes/REF) under load.

    .venv/bin/python bench/web.py [--rows 100000] [--clients 20] [--requests 30] [--workers 1]
                                  [--pg postgresql+psycopg://…] [--no-sqlite]

Fills a fresh SQLite database (and PostgreSQL with --pg, in a schema of its own)
with 100,000 requests (bench/stats.py's synthetic register: 3 years, 40
services), each with its citizen's message and its « reçue » event, plus 5 %
still open and half of those assigned; then serves it with the real
``tracer web`` (uvicorn, ``--workers`` processes, in a subprocess) and runs 20 concurrent
clients (httpx.AsyncClient), each signed in through the form: 16 agents of
different services and 4 référents (every service). Each client alternates
its home (« À traiter », the default tab, counts in every tab) and one of its
requests (a page of its own scope), ``--requests`` times each.
Goal: p95 under 150 ms for each page, with 20 clients at once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from sqlalchemy import String, cast, insert, literal, select, text, update

sys.path.insert(0, str(Path(__file__).parent))
import stats as bench_stats  # noqa: E402  (bench/stats.py: the same synthetic register)

from tracer.core import config  # noqa: E402
from tracer.register import accounts  # noqa: E402
from tracer.services import Runtime  # noqa: E402
from tracer.store import db  # noqa: E402
from tracer.store.models import Event, Message, Request  # noqa: E402

GOAL = 0.150
PASSWORD = "mot-de-passe-du-bench"
AGENTS, REFERENTS = 16, 4
BODY = ("Madame, Monsieur,\n\nJe vous écris au sujet de mon dossier déposé il y a plusieurs semaines, "
        "toujours sans réponse. Pourriez-vous me dire où il en est ?\n\nCordialement,\n") * 3


def fill(engine, count: int, rt) -> float:
    """bench/stats.py's requests, then a message and an event each; 5 % reopened (recent, some assigned)."""
    began = time.perf_counter()
    bench_stats.fill(engine, count, rt)
    rnd = random.Random(7)
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        ids = [(row.id, row.mailbox, row.received_at) for row in conn.execute(
            select(Request.id, Request.mailbox, Request.received_at).order_by(Request.id))]
        for start in range(0, len(ids), 10000):
            chunk = ids[start:start + 10000]
            conn.execute(insert(Message), [{
                "dedup_key": f"<bench-{rid}@example.org>", "message_id": f"<bench-{rid}@example.org>",
                "direction": "in", "kind": "mail", "request_id": rid, "mailbox": mailbox, "received_at": at,
                "from_addr": f"usager{rid}@example.org", "from_name": f"Usager {rid}", "to_addrs": [mailbox],
                "cc_addrs": [], "subject": f"Demande n° {rid} : suivi de mon dossier", "references": [],
                "body_text": BODY, "attachments": [], "auto_headers": {}, "created_at": at,
            } for rid, mailbox, at in chunk])
            conn.execute(insert(Event), [{"request_id": rid, "at": at, "kind": "received", "actor": "tracer",
                                          "data": {"mailbox": mailbox}} for rid, mailbox, at in chunk])
        conn.execute(update(Request).values(
            sender_addr=literal("usager").concat(cast(Request.id, String)).concat("@example.org"),
            sender_name="Usager", subject="Suivi de mon dossier"))
        reopened = rnd.sample([rid for rid, _, _ in ids], len(ids) // 20)
        for n, rid in enumerate(reopened):
            received = now - timedelta(days=rnd.randrange(1, 30))
            conn.execute(update(Request).where(Request.id == rid).values(
                answered_at=None, received_at=received, deadline=rt.calendar.deadline(received, 5),
                assignee=f"agent{n % 40:02d}" if n % 2 else None))
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return time.perf_counter() - began


def add_accounts(engine, now) -> list[tuple[str, list[str]]]:
    """16 agents of services 00..15 and 4 référents; (login, services) each."""
    from sqlmodel import Session

    out = []
    with Session(engine) as session:
        for n in range(AGENTS):
            services = [f"service{n:02d}"]
            accounts.add_account(session, f"agent{n:02d}", "agent", now, password=PASSWORD, services=services)
            out.append((f"agent{n:02d}", services))
        for n in range(REFERENTS):
            accounts.add_account(session, f"referent{n}", "referent", now, password=PASSWORD)
            out.append((f"referent{n}", None))
        session.commit()
    return out


def references(engine, services: list[str] | None, k: int, rnd: random.Random) -> list[str]:
    query = select(Request.reference)
    if services is not None:
        query = query.where(Request.service.in_(services))
    with engine.connect() as conn:
        refs = [r for (r,) in conn.execute(query.order_by(Request.id).limit(5000))]
    return rnd.sample(refs, min(k, len(refs)))


def start_server(database_url: str, tmp: str, workers: int) -> tuple[subprocess.Popen, str]:
    """The real ``tracer web`` (uvicorn, ``--workers`` processes) on a free port."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = Path(tmp) / f"web-{port}.toml"
    path.write_text(f'[tracer]\ndatabase_url = "{database_url}"\n[web]\nbase_url = "http://127.0.0.1:{port}"\n',
                    encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.Popen([sys.executable, "-m", "tracer", "--config", str(path), "web", "--port", str(port),
                             "--workers", str(workers)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/connexion", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError("tracer web stopped: " + proc.stderr.read())
        time.sleep(0.2)
    raise RuntimeError("tracer web did not start")


async def client_run(url: str, login: str, refs: list[str], n: int, out: dict) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        page = await client.get("/connexion")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        signed = await client.post("/connexion", data={"identifiant": login, "mot_de_passe": PASSWORD,
                                                       "csrf_token": token})
        assert signed.status_code == 303, (login, signed.status_code)
        kind = "agent" if login.startswith("agent") else "referent"
        for i in range(n):
            t0 = time.perf_counter()
            answer = await client.get("/demandes")
            out[f"/demandes ({kind})"].append(time.perf_counter() - t0)
            assert answer.status_code == 200, (login, answer.status_code)
            ref = refs[i % len(refs)]
            t0 = time.perf_counter()
            answer = await client.get(f"/demandes/{ref}")
            out["/demandes/REF"].append(time.perf_counter() - t0)
            assert answer.status_code == 200 and ref in answer.text, (login, ref, answer.status_code)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def bench(engine, database_url: str, rt, rows: int, clients: int, n: int, name: str, tmp: str,
          workers: int) -> None:
    print(f"{name}: filled {rows:,} requests (with messages and events) in {fill(engine, rows, rt):.1f} s")
    logins = add_accounts(engine, datetime.now(timezone.utc))
    rnd = random.Random(3)
    chosen = [logins[i % len(logins)] for i in range(clients)]
    scopes = {login: references(engine, services, 50, rnd) for login, services in chosen}
    proc, url = start_server(database_url, tmp, workers)
    try:
        out = {"/demandes (agent)": [], "/demandes (referent)": [], "/demandes/REF": []}
        # warm-up: one pass per page (templates compiled, caches filled), not counted
        asyncio.run(client_run(url, chosen[0][0], scopes[chosen[0][0]], 1, {k: [] for k in out}))
        began = time.perf_counter()

        async def everyone():
            await asyncio.gather(*(client_run(url, login, scopes[login], n, out) for login, _ in chosen))

        asyncio.run(everyone())
        wall = time.perf_counter() - began
        total = sum(len(v) for v in out.values())
        print(f"  tracer web --workers {workers}, {clients} concurrent clients, {total} page loads in {wall:.1f} s ({total / wall:.0f} pages/s)")
        for label, times in out.items():
            if not times:
                continue
            worst = p95(times)
            verdict = "ok" if worst < GOAL else "OVER GOAL"
            print(f"  {label:22s} n={len(times):4d}  p50 {statistics.median(times) * 1000:6.0f} ms  "
                  f"p95 {worst * 1000:6.0f} ms  (goal p95 < {GOAL * 1000:.0f} ms: {verdict})")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=30, help="loads of each page per client")
    parser.add_argument("--pg", help="PostgreSQL URL to bench as well")
    parser.add_argument("--workers", type=int, default=1, help="tracer web --workers")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    rt = Runtime(config.from_dict({}))
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_sqlite:
            url = f"sqlite:///{tmp}/bench.db"
            engine = db.open_engine(url)
            bench(engine, url, rt, args.rows, args.clients, args.requests, "SQLite", tmp, args.workers)
            engine.dispose()
        if args.pg:
            with bench_stats.pg_schema(args.pg) as url:
                engine = db.open_engine(url)
                bench(engine, url, rt, args.rows, args.clients, args.requests, "PostgreSQL", tmp, args.workers)
                engine.dispose()


if __name__ == "__main__":
    main()
