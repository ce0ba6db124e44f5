"""``run``, ``alerts``, ``status``."""

from __future__ import annotations

import sys


from tracer.outgoing import alerts
from tracer.core import logs
from tracer.reports import status as status_mod
from tracer.cli.tables import new_table
from tracer.core import french
from tracer.services import Runtime


def register(sub) -> None:
    p = sub.add_parser("run", help="le démon : relève, alertes et bilans selon le calendrier configuré")
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("alerts", help="envoie les alertes d'échéance dues (une fois chacune)")
    p.add_argument("--as-of", metavar="T")
    p.add_argument("--dry-run", action="store_true", help="affiche sans envoyer ni enregistrer")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_alerts)

    p = sub.add_parser("status", help="état des boîtes, demandes en cours et file d'envoi")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_status)


def cmd_run(args, ctx) -> int:
    from tracer.daemon import Daemon
    from tracer.rules.errors import RulesError

    logs.setup(args.log_format)
    cfg = ctx.config
    ctx.require_secrets(None, smtp=True)
    try:
        Runtime(cfg).check_once()  # bad rules refused before anything runs; unchanged ones not compiled again
    except RulesError as exc:
        for line in exc.problems:
            sys.stderr.write(f"règles : {line}\n")
        return 2
    return Daemon(cfg, ctx.engine).run()


def cmd_alerts(args, ctx) -> int:
    logs.setup(args.log_format)
    if not args.dry_run:
        ctx.require_secrets([], smtp=True)
    rt = Runtime(ctx.config)
    as_of = ctx.as_of(args.as_of)
    mails = alerts.run(ctx.engine, rt, as_of, ctx.now(), dry_run=args.dry_run)
    if args.json:
        ctx.print_json(mails)
        return 0
    if not mails:
        ctx.console.print("Aucune alerte à envoyer.")
        return 0
    verb = "serait envoyée" if args.dry_run else "envoyée"
    for mail in mails:
        table = new_table(f"Alerte {verb} à {mail['to']} : {len(mail['alerts'])} demande(s)")
        table.add_column("Référence", fixed=True)
        table.add_column("Échéance", fixed=True)
        table.add_column("Seuil", min_width=17)
        table.add_column("Objet", min_width=14)
        for a in mail["alerts"]:
            table.add_row(a["reference"], french.day(a["deadline"], ctx.config.tz), french.threshold(a["threshold"]),
                          a["subject"] or "(sans objet)")
        ctx.console.print(table)
    return 0


def cmd_status(args, ctx) -> int:
    rt = Runtime(ctx.config)
    with ctx.reading() as session:
        data = status_mod.status(session, rt, ctx.now())
    if args.json:
        ctx.print_json(data)
        return 0
    tz = ctx.config.tz
    table = new_table("Boîtes relevées", empty="Aucune boîte configurée ([[mailbox]]).")
    table.add_column("Boîte", min_width=10)
    table.add_column("Dernière relève réussie", fixed=True)
    table.add_column("État", fixed=True)
    table.add_column("Dernière erreur", min_width=20, wrap=True)
    for box in data["mailboxes"]:
        error = f"{french.when(box['last_error_at'], tz)} : {box['last_error']}" if box["last_error"] else "—"
        if not box["ok"]:
            state = "en échec"
        elif not box["last_success_at"] and not box["last_error"]:
            state = "jamais relevée"
        else:
            state = "ok"
        table.add_row(box["name"], french.short(box["last_success_at"], tz, empty="jamais"), state, error)
    ctx.console.print(table)
    r = data["requests"]
    ctx.console.print(f"Demandes en cours : {r['open']} dont {r['overdue']} en retard · file d'envoi : {data['outbox']['size']}"
                      f" · quarantaine : {data['quarantined']}")
    copies = data.get("sent_copies") or {}
    if copies.get("missing"):
        ctx.console.print(f"Copies absentes des dossiers Envoyés : {copies['missing']} réponse(s) partie(s) sans copie"
                          + (f" ({copies['last_error']})" if copies.get("last_error") else "")
                          + " ; nouvel essai automatique, détail : tracer outbox")
    return 0
