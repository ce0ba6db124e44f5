"""``stats``: the indicators, in French table, JSON, CSV, XLSX or HTML."""

from __future__ import annotations

import getpass
import json
import sys

from tracer.core import files
from tracer.reports import control_sheet
from tracer.reports import exports
from tracer.reports import quality
from tracer.reports import stats
from tracer.cli.context import fail
from tracer.cli.tables import stats_table
from tracer.services import Runtime


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
    p.add_argument("--freeze", metavar="TRIMESTRE", help="fige les chiffres publiés du trimestre (ex. 2026-Q3)")
    p.add_argument("--by-agent", metavar="AGENT", help="avec --freeze : qui publie")
    p.add_argument("--topics", action="store_true", help="répartition des réclamations et suggestions par thème")
    p.add_argument("--conformity", action="store_true", help="ajoute le taux de conformité des contrôles")
    p.set_defaults(handler=cmd_stats)

    p = sub.add_parser("sample", help="échantillon aléatoire de demandes répondues pour le contrôle trimestriel")
    p.add_argument("--quarter", required=True, metavar="TRIMESTRE")
    p.add_argument("--size", type=int, default=20)
    p.add_argument("--seed", type=int)
    p.add_argument("--output", metavar="FICHIER", help=".xlsx ou .csv (grille de contrôle) ; sinon JSON")
    p.add_argument("--by", metavar="AGENT", help="qui tire l'échantillon (défaut : l'utilisateur du système)")
    p.set_defaults(handler=cmd_sample)

    p = sub.add_parser("control", help="enregistre le résultat du contrôle d'une réponse")
    p.add_argument("reference", metavar="REF")
    p.add_argument("--result", required=True, choices=["conforme", "non_conforme"])
    p.add_argument("--notes")
    p.add_argument("--by", required=True, metavar="AGENT")
    p.set_defaults(handler=cmd_control)


def cmd_stats(args, ctx) -> int:
    rt = Runtime(ctx.config)
    by = list(args.by)
    if args.freeze:
        return _freeze(args, ctx, rt)
    if args.topics:
        by = ["category", "topic"]
    if args.transparence:
        start, end = stats.quarter_bounds(args.transparence)
        by = by or ["channel", "category"]
    else:
        if not args.date_from or not args.date_to:
            fail("précisez la période : --from AAAA-MM-JJ --to AAAA-MM-JJ (ou --transparence 2026-Q3)", 2)
        start, end = stats.parse_period(args.date_from, args.date_to)
    as_of = ctx.as_of(args.as_of)
    with ctx.reading() as session:
        result = stats.compute(session, rt, start, end, as_of, by)
        monthly = stats.compute(session, rt, start, end, as_of, ["month"]) if args.format == "xlsx" else None
        if args.topics:
            result["groups"] = [g for g in result["groups"] if g["key"]["category"] in ("reclamation", "suggestion")]
        if args.conformity:
            result["conformity"] = quality.conformity(session, rt, start, end)
        published = quality.frozen_for(session, start, end)
        frozen = quality.compare(session, rt, published) if published else None
    if frozen:
        result["frozen"] = frozen
        note = (f"Chiffres figés le {frozen['frozen_at']} par {frozen['frozen_by']} pour {frozen['period']}"
                + (" ; les données actuelles diffèrent des chiffres publiés (voir « frozen »)." if frozen["differs"] else "."))
        ctx.err.print(note)
    fmt = args.format
    if fmt == "json":
        if args.output:
            files.write_text(args.output, json.dumps(result, ensure_ascii=False, indent=2))
        else:
            ctx.print_json(result)
    elif fmt == "csv":
        data = exports.to_csv(result, by, plain=args.plain_csv)
        _write(args.output, data)
    elif fmt == "xlsx":
        if not args.output:
            fail("--format xlsx : précisez le fichier avec --output FICHIER.xlsx", 2)
        files.write_with(args.output, lambda path: exports.to_xlsx(result, by, path, monthly))
        ctx.err.print(f"Classeur écrit : {args.output}")
    elif fmt == "html":
        title = f"Indicateurs Qual-e-Pref — {args.transparence or f'{start} au {end}'}"
        _write(args.output, exports.to_html(result, by, title).encode("utf-8"))
    else:
        ctx.console.print(stats_table(result, by, ctx.config))
        if frozen and frozen["differs"]:
            ctx.console.print("Chiffres publiés :")
            ctx.console.print(stats_table(frozen["published"], list(frozen["published"]["groups"][0]["key"]) if frozen["published"]["groups"] else [], ctx.config))
        if args.conformity:
            c = result["conformity"]
            ctx.console.print(f"Contrôles : {c['controlled']} réponse(s) contrôlée(s), {c['conforme']} conforme(s), "
                              f"taux de conformité {exports.french_number(c['rate']) or '—'} %")
    return 0


def _freeze(args, ctx, rt) -> int:
    as_of = ctx.as_of(args.as_of)
    with ctx.session() as session:
        figures = quality.freeze(session, rt, args.freeze, as_of, args.by_agent or "", ctx.now())
    if args.format == "json":
        ctx.print_json(figures)
    else:
        ctx.console.print(f"Chiffres de {args.freeze.upper()} figés (arrêtés au {figures['period']['as_of']}).")
        ctx.console.print(stats_table(figures, quality.FREEZE_BY, ctx.config))
    return 0


def cmd_sample(args, ctx) -> int:
    import csv
    import io

    rt = Runtime(ctx.config)
    with ctx.session() as session:
        drawn = control_sheet.draw(session, rt, args.quarter, args.size, args.seed, args.by or getpass.getuser(), ctx.now())
        items = quality.sample(session, rt, args.quarter, args.size, drawn["seed"])
    if not args.output:
        ctx.print_json(items)
        return 0
    head, rows = quality.sample_rows(items)
    if args.output.endswith(".xlsx"):
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Font

        book = Workbook()
        sheet = book.active
        sheet.title = f"Contrôle {args.quarter.upper()}"
        sheet.append(head)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(row)
        for row in sheet.iter_rows(min_row=2):
            row[8].alignment = Alignment(wrap_text=True, vertical="top")
        sheet.column_dimensions["I"].width = 80
        files.write_with(args.output, book.save)
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        writer.writerow(head)
        writer.writerows([[str(v).replace(".", ",") if isinstance(v, float) else v for v in row] for row in rows])
        files.write_bytes(args.output, "\ufeff".encode() + buffer.getvalue().encode("utf-8"))
    ctx.console.print(f"Échantillon de {len(items)} demande(s) écrit : {args.output}")
    return 0


def cmd_control(args, ctx) -> int:
    rt = Runtime(ctx.config)
    with ctx.session() as session:
        quality.control(session, rt, args.reference, args.result, args.notes, args.by, ctx.now())
    ctx.console.print(f"Contrôle enregistré pour {args.reference} : {args.result.replace('_', ' ')}.")
    return 0


def _write(output: str | None, data: bytes) -> None:
    if output:
        files.write_bytes(output, data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
