"""Dashboard benchmark: the référent's /indicateurs over 1,000,000 requests (the bench/stats.py data).

    .venv/bin/python bench/dashboard.py [--rows 1000000] [--pg postgresql+psycopg://…] [--runs 20]

Fills a fresh SQLite database (and PostgreSQL with --pg, in a schema of its own)
with bench/stats.py's synthetic requests (3 years, 40 services), then times
what one display of the dashboard computes (tracer.reports.dashboard: the
table of the grouping, the monthly rate, the delay per service, the topics):
the default quarter by service, a quarter by month, and a whole year by topic.
When the web interface is installed it also times ``GET /indicateurs`` through
the real application (sign-in cookie, template, SVG charts).
Goal: p95 under 1 s on SQLite, under 0.5 s on PostgreSQL.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).parent))
import stats as bench_stats  # noqa: E402  (bench/stats.py: the same data)

from tracer.core import config  # noqa: E402
from tracer.reports import dashboard  # noqa: E402
from tracer.services import Runtime  # noqa: E402
from tracer.store import db  # noqa: E402

AS_OF = datetime(2026, 7, 15, tzinfo=timezone.utc)
CASES = [
    ("2026-Q2 by service (the default view)", ("trimestre", "2026-Q2"), "service"),
    ("2026-Q2 by month", ("trimestre", "2026-Q2"), "month"),
    ("year 2025 by topic", ("annee", "2025"), "topic"),
]


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def report(label: str, times: list[float], goal: float) -> None:
    worst = p95(times)
    verdict = "ok" if worst < goal else "OVER GOAL"
    print(f"  {label:42s} p50 {statistics.median(times):6.3f} s  p95 {worst:6.3f} s  (goal < {goal} s: {verdict})")


def measure_service(engine, rt, runs: int, goal: float) -> None:
    for label, (kind, value), by in CASES:
        period = dashboard.choose_period(kind, value, None, None, AS_OF.date())
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            with Session(db.reader(engine)) as session:
                dashboard.dashboard(session, rt, period, AS_OF, by)
            times.append(time.perf_counter() - t0)
        report("dashboard() " + label, times, goal)


def measure_http(engine, rt, runs: int, goal: float, tmp: str) -> None:
    try:
        from fastapi.testclient import TestClient

        from tracer.web.app import create_app
        from tracer.register import accounts
    except ModuleNotFoundError as exc:
        print(f"  GET /indicateurs: skipped ({exc.name} missing)")
        return
    cfg_path = Path(tmp) / "tracer.toml"
    cfg_path.write_text(f'[tracer]\ndatabase_url = "{engine.url.render_as_string(hide_password=False)}"\n'
                        '[web]\nbase_url = "http://testserver"\n', encoding="utf-8")
    cfg = config.load(str(cfg_path))
    app = create_app(cfg, engine)
    login = "bench-" + uuid.uuid4().hex[:6]
    with Session(engine) as session:
        accounts.add_account(session, login, "referent", datetime.now(timezone.utc), password="mot-de-passe-du-bench",
                             name="Bench", by="bench")
        session.commit()
    client = TestClient(app)
    page = client.get("/connexion")
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    client.post("/connexion", data={"identifiant": login, "mot_de_passe": "mot-de-passe-du-bench", "csrf_token": token})
    for label, (kind, value), by in CASES:
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            answer = client.get("/indicateurs", params={"periode": kind, "valeur": value, "par": by,
                                                        "arrete": AS_OF.isoformat()})
            times.append(time.perf_counter() - t0)
            assert answer.status_code == 200, answer.status_code
        report("GET /indicateurs " + label, times, goal)


def bench(engine, rt, rows: int, runs: int, goal: float, name: str, tmp: str) -> None:
    print(f"{name}: filled {rows:,} requests in {bench_stats.fill(engine, rows, rt):.1f} s")
    measure_service(engine, rt, runs, goal)
    measure_http(engine, rt, runs, goal, tmp)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--pg", help="PostgreSQL URL to bench as well")
    args = parser.parse_args()
    rt = Runtime(config.from_dict({}))
    with tempfile.TemporaryDirectory() as tmp:
        engine = db.open_engine(f"sqlite:///{tmp}/bench.db")
        bench(engine, rt, args.rows, args.runs, 1.0, "SQLite", tmp)
        engine.dispose()
        if args.pg:
            with bench_stats.pg_schema(args.pg) as url:
                engine = db.open_engine(url)
                bench(engine, rt, args.rows, args.runs, 0.5, "PostgreSQL", tmp)
                engine.dispose()


if __name__ == "__main__":
    main()
