"""Indicator benchmark: 1,000,000 synthetic requests, 3 years, 40 services.

    .venv/bin/python bench/stats.py [--rows 1000000] [--pg postgresql+psycopg://…]

Fills a fresh SQLite database (and PostgreSQL with --pg, in a schema of its
own), then times, through the same ``stats.compute`` the CLI uses:
  - ``stats --by service month`` over the three years;
  - the quarterly « Transparence » table (by channel and category).
Target: under 2 s each on SQLite.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import insert, text

from tracer.core import config
from tracer.store import db
from tracer.register.requests import derived_fields
from tracer.reports import stats
from tracer.store.models import Request
from tracer.services import Runtime

CATEGORIES = ["information"] * 6 + ["reclamation"] * 2 + ["suggestion", "hors_perimetre", "automatique"]
TOPICS = ["rendez_vous", "accueil_telephonique", "titres_sejour", "delais_traitement", "autre"]


def rows(count: int, rt):
    rnd = random.Random(42)
    start = datetime(2023, 7, 1, tzinfo=timezone.utc)
    span = 3 * 365 * 86400
    cal = rt.calendar
    now = datetime(2026, 7, 1, tzinfo=timezone.utc)
    for i in range(count):
        received = start + timedelta(seconds=rnd.randrange(span))
        category = rnd.choice(CATEGORIES)
        channel = "paper" if rnd.random() < 0.1 else "email"
        days = None if category in ("hors_perimetre", "automatique") else (10 if channel == "paper" else 5)
        deadline = cal.deadline(received, days) if days else None
        answered = received + timedelta(hours=rnd.expovariate(1 / 60)) if rnd.random() < 0.93 else None
        if answered and answered > now:
            answered = None
        derived = derived_fields(received, None, cal)
        if answered:
            derived["delay_seconds"] = (answered - received).total_seconds()
            derived["delay_working_seconds"] = derived["delay_seconds"] * 0.7  # the calendar walk is not what is measured here
        yield {
            "reference": f"BENCH-{received.year}-{i:07d}", "channel": channel, "mailbox": f"boite{i % 40}",
            "service": f"service{i % 40:02d}", "category": category,
            "topic": rnd.choice(TOPICS) if category in ("reclamation", "suggestion") else None, "rule_ids": [],
            "received_at": received, "deadline": deadline, "deadline_days": days, "answered_at": answered,
            "created_at": received, **derived,
        }


def fill(engine, count: int, rt) -> float:
    began = time.perf_counter()
    batch = []
    with engine.begin() as conn:
        for row in rows(count, rt):
            batch.append(row)
            if len(batch) == 20000:
                conn.execute(insert(Request), batch)
                batch = []
        if batch:
            conn.execute(insert(Request), batch)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return time.perf_counter() - began


def measure(engine, rt) -> None:
    from sqlmodel import Session

    as_of = datetime(2026, 7, 15, tzinfo=timezone.utc)
    with Session(engine) as session:
        for label, args in (
            ("stats --by service month (3 years)", (date(2023, 7, 1), date(2026, 7, 1), as_of, ["service", "month"])),
            ("transparence 2026-Q2 (channel, category)", (date(2026, 4, 1), date(2026, 7, 1), as_of, ["channel", "category"])),
        ):
            best = None
            for _ in range(3):
                t0 = time.perf_counter()
                result = stats.compute(session, rt, *args)
                elapsed = time.perf_counter() - t0
                best = elapsed if best is None else min(best, elapsed)
            print(f"  {label:45s} {best:6.2f} s  ({len(result['groups'])} groups, {result['total']['received']:,} requests)")


@contextmanager
def pg_schema(url: str):
    """A PostgreSQL URL on a schema of its own, dropped afterwards (the benches' scratch space)."""
    schema = "bench_" + uuid.uuid4().hex[:8]
    admin = db.make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in url else "?"
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg", help="PostgreSQL URL to bench as well")
    args = parser.parse_args()
    rt = Runtime(config.from_dict({}))
    with tempfile.TemporaryDirectory() as tmp:
        engine = db.open_engine(f"sqlite:///{tmp}/bench.db")
        print(f"SQLite: filled {args.rows:,} requests in {fill(engine, args.rows, rt):.1f} s")
        measure(engine, rt)
        engine.dispose()
    if args.pg:
        with pg_schema(args.pg) as url:
            engine = db.open_engine(url)
            print(f"PostgreSQL: filled {args.rows:,} requests in {fill(engine, args.rows, rt):.1f} s")
            measure(engine, rt)
            engine.dispose()


if __name__ == "__main__":
    main()
