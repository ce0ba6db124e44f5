"""``stats``: the indicators, in French table, JSON, CSV, XLSX or HTML."""

from __future__ import annotations

import sys
from pathlib import Path

from tracer import exports, stats
from tracer.cli.context import fail
from tracer.runtime import Runtime


def register(sub) -> None:
    p = sub.add_parser("stats", help="indicateurs : taux dans les délais, délai moyen")
    p.add_argument("--from", dest="date_from", metavar="D", help="premier jour (inclus)")
    p.add_argument("--to", dest="date_to", metavar="D", help="dernier jour (exclu)")
    p.add_argument("--transparence", metavar="TRIMESTRE", help="tableau public trimestriel (ex. 2026-Q3)")
    p.add_argument("--as-of", metavar="T")
    p.add_argument("--by", nargs="+", default=[], metavar="CLE", help=f"regroupement : {', '.join(stats.KEYS)}")
    p.add_argument("--format", choices=["table", "json", "csv", "xlsx", "html"], default="table")
    p.add_argument("--plain-csv", action="store_true", help="CSV avec virgule et point décimal, sans BOM")
    p.add_argument("--output", metavar="FICHIER")
    p.set_defaults(handler=cmd_stats)


def cmd_stats(args, ctx) -> int:
    rt = Runtime(ctx.config)
    by = list(args.by)
    if args.transparence:
        start, end = stats.quarter_bounds(args.transparence)
        by = by or ["channel", "category"]
    else:
        if not args.date_from or not args.date_to:
            fail("précisez la période : --from AAAA-MM-JJ --to AAAA-MM-JJ (ou --transparence 2026-Q3)", 2)
        start, end = stats.parse_period(args.date_from, args.date_to)
    as_of = ctx.as_of(args.as_of)
    with ctx.session() as session:
        result = stats.compute(session, rt, start, end, as_of, by)
        monthly = stats.compute(session, rt, start, end, as_of, ["month"]) if args.format == "xlsx" else None
    fmt = args.format
    if fmt == "json":
        ctx.print_json(result) if not args.output else Path(args.output).write_text(__import__("json").dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    elif fmt == "csv":
        data = exports.to_csv(result, by, plain=args.plain_csv)
        _write(args.output, data)
    elif fmt == "xlsx":
        if not args.output:
            fail("--format xlsx : précisez le fichier avec --output FICHIER.xlsx", 2)
        exports.to_xlsx(result, by, Path(args.output), monthly)
        ctx.err.print(f"Classeur écrit : {args.output}")
    elif fmt == "html":
        title = f"Indicateurs Qual-e-Pref — {args.transparence or f'{start} au {end}'}"
        _write(args.output, exports.to_html(result, by, title).encode("utf-8"))
    else:
        ctx.console.print(exports.table(result, by))
    return 0


def _write(output: str | None, data: bytes) -> None:
    if output:
        Path(output).write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
