"""``stats``: the indicators, in French table, JSON, CSV, XLSX or HTML."""

from __future__ import annotations

import getpass
import json
import sys

from tracer.core import files
from tracer.core import french
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
    p.add_argument("--format", choices=["table", "json", "csv", "xlsx", "html"], default="table",
                   help="tableau (défaut), JSON, CSV pour Excel, classeur XLSX ou page HTML")
    p.add_argument("--plain-csv", action="store_true", help="CSV avec virgule et point décimal, sans BOM")
    p.add_argument("--output", metavar="FICHIER", help="écrit dans ce fichier (obligatoire pour xlsx)")
    p.add_argument("--freeze", metavar="TRIMESTRE", help="fige les chiffres publiés du trimestre (ex. 2026-Q3)")
    p.add_argument("--by-agent", metavar="AGENT", help="avec --freeze : qui publie")
    p.add_argument("--topics", action="store_true", help="répartition des réclamations et suggestions par thème")
    p.add_argument("--conformity", action="store_true", help="ajoute le taux de conformité des contrôles")
    p.set_defaults(handler=cmd_stats)

    p = sub.add_parser("sample", help="échantillon aléatoire de demandes répondues pour le contrôle trimestriel")
    p.add_argument("--quarter", required=True, metavar="TRIMESTRE", help="trimestre contrôlé (ex. 2026-Q3)")
    p.add_argument("--size", type=int, default=20, metavar="N", help="nombre de demandes tirées (défaut : 20)")
    p.add_argument("--seed", type=int, metavar="N", help="graine du tirage, pour le refaire à l'identique")
    p.add_argument("--output", metavar="FICHIER", help=".xlsx ou .csv (grille de contrôle) ; sinon un tableau")
    p.add_argument("--by", metavar="AGENT", help="qui tire l'échantillon (défaut : l'utilisateur du système)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_sample)

    p = sub.add_parser("control", help="enregistre le résultat du contrôle d'une réponse")
    p.add_argument("reference", metavar="REF")
    p.add_argument("--result", required=True, choices=["conforme", "non_conforme"], help="résultat du contrôle")
    p.add_argument("--notes", help="observations du contrôleur")
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
            fail("précisez la période : --from JJ/MM/AAAA --to JJ/MM/AAAA (ou --transparence 2026-Q3)", 2)
        start, end = stats.parse_period(args.date_from, args.date_to)
    as_of = ctx.as_of(args.as_of)
    from tracer.rules.vocabulary import TOPIC_CATEGORIES

    categories = TOPIC_CATEGORIES if "topic" in by else None  # a topics table: complaints and suggestions only
    with ctx.reading() as session:
        result = stats.compute(session, rt, start, end, as_of, by, categories)
        monthly = stats.compute(session, rt, start, end, as_of, ["month"]) if args.format == "xlsx" else None
        if args.conformity:
            result["conformity"] = quality.conformity(session, rt, start, end)
        published = quality.frozen_for(session, start, end)
        frozen = quality.compare(session, rt, published) if published else None
    if frozen:
        result["frozen"] = frozen
        note = (f"Chiffres figés le {french.when(frozen['frozen_at'], ctx.config.tz)} par {frozen['frozen_by']} "
                f"pour {_period_fr(frozen['period'])}"
                + (" ; les données actuelles diffèrent des chiffres publiés (voir « Chiffres publiés » ci-dessous, "
                   "ou la clé « frozen » du JSON)." if frozen["differs"] else "."))
        ctx.err.print(note)
    fmt = args.format
    services = exports.service_labels(ctx.config)
    if fmt == "json":
        if args.output:
            files.write_text(args.output, json.dumps(result, ensure_ascii=False, indent=2))
            ctx.err.print(f"Indicateurs (JSON) écrits : {args.output}")
        else:
            ctx.print_json(result)
    elif fmt == "csv":
        data = exports.to_csv(result, by, plain=args.plain_csv, services=services)
        _write(args.output, data)
        if args.output:
            ctx.err.print(f"Tableau CSV écrit : {args.output}")
    elif fmt == "xlsx":
        if not args.output:
            fail("--format xlsx : précisez le fichier avec --output FICHIER.xlsx", 2)
        sheet = f"Transparence {args.transparence.upper()}" if args.transparence else None
        files.write_with(args.output, lambda out: exports.to_xlsx(result, by, out, monthly, services, sheet, ctx.config.tz))
        ctx.err.print(f"Classeur écrit : {args.output}")
    elif fmt == "html":
        what = french.quarter(args.transparence) if args.transparence else french.period(start, end)
        title = f"Indicateurs Qual-e-Pref — {what}"
        _write(args.output, exports.to_html(result, by, title, services).encode("utf-8"))
        if args.output:
            ctx.err.print(f"Page HTML écrite : {args.output}")
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
        ctx.console.print(f"Chiffres du {french.quarter(args.freeze)} figés (arrêtés au "
                          f"{french.when(figures['period']['as_of'], ctx.config.tz)}).")
        ctx.console.print(stats_table(figures, quality.FREEZE_BY, ctx.config))
    return 0


def sample_table(items: list[dict], quarter: str, cfg):
    from tracer.core import french
    from tracer.cli.tables import new_table, service_label

    table = new_table(f"Échantillon de contrôle, {french.quarter(quarter)} : {len(items)} demande(s)",
                      empty="Aucune demande répondue sur le trimestre.")
    table.add_column("Référence", fixed=True)
    table.add_column("Reçue le", fixed=True)
    table.add_column("Répondue le", fixed=True)
    table.add_column("Délai (j)", fixed=True, justify="right")
    table.add_column("À temps", fixed=True)
    table.add_column("Catégorie", min_width=11, drop=2)
    table.add_column("Service", min_width=10, drop=1)
    table.add_column("Objet", min_width=14)
    for i in items:
        table.add_row(i["reference"], french.day(i["received_at"]), french.day(i["answered_at"]),
                      french.number(float(i["delay_days"])), "oui" if i["on_time"] else "non",
                      french.category(i["category"]), service_label(cfg, i["service"]), i["subject"] or "(sans objet)")
    return table


def cmd_sample(args, ctx) -> int:
    rt = Runtime(ctx.config)
    with ctx.session() as session:
        latest = control_sheet.latest_draw(session, args.quarter.strip().upper())
        if args.seed is not None and latest and (latest["seed"], latest["size"]) == (args.seed, args.size):
            seed = args.seed  # the recorded draw repeated (an auditor checking it): nothing new to record
        else:  # a new draw, recorded: its replies are the ones « tracer control » accepts
            seed = control_sheet.draw(session, rt, args.quarter, args.size, args.seed, args.by or getpass.getuser(),
                                      ctx.now())["seed"]
        items = quality.sample(session, rt, args.quarter, args.size, seed)
    if args.json:
        ctx.print_json(items)
        return 0
    if not args.output:
        ctx.console.print(sample_table(items, args.quarter, ctx.config))
        return 0
    head, rows = quality.sample_rows(items, rt)
    if args.output.endswith(".xlsx"):
        files.write_with(args.output, lambda out: exports.control_grid_xlsx(head, rows, f"Contrôle {args.quarter.upper()}", out))
    else:
        files.write_bytes(args.output, exports.control_grid_csv(head, rows))
    ctx.console.print(f"Échantillon de {len(items)} demande(s) écrit : {args.output}")
    return 0


def cmd_control(args, ctx) -> int:
    rt = Runtime(ctx.config)
    with ctx.session() as session:
        quality.control(session, rt, args.reference, args.result, args.notes, args.by, ctx.now())
    ctx.console.print(f"Contrôle enregistré pour {args.reference} : {french.result(args.result)}.")
    return 0


def _period_fr(period) -> str:
    """A frozen period (``{"from": …, "to": …}`` or a quarter's name) in French."""
    if isinstance(period, dict) and period.get("from") and period.get("to"):
        return french.period(period["from"], period["to"])
    return french.quarter(str(period)) if period else "—"


def _write(output: str | None, data: bytes) -> None:
    if output:
        files.write_bytes(output, data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
