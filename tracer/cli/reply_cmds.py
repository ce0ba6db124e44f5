"""``templates``, ``reply`` and ``outbox``."""

from __future__ import annotations

from rich.table import Table

from tracer import outbox, reply, templates
from tracer.cli.context import fail
from tracer.cli.tables import short_time
from tracer.runtime import Runtime


def register(sub) -> None:
    p = sub.add_parser("templates", help="les réponses types disponibles")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_templates)

    p = sub.add_parser("reply", help="répond à une demande avec une réponse type")
    p.add_argument("reference", metavar="REF")
    p.add_argument("--template", required=True, metavar="NOM")
    p.add_argument("--by", required=True, metavar="AGENT")
    p.add_argument("--set", action="append", default=[], metavar="CLE=VALEUR", help="valeur libre pour le modèle")
    p.add_argument("--preview", action="store_true", help="affiche la réponse sans l'envoyer")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_reply)

    p = sub.add_parser("outbox", help="envois en attente ou en échec")
    p.add_argument("--retry", action="store_true", help="tente maintenant l'envoi des messages en attente")
    p.add_argument("--force", type=int, action="append", default=[], metavar="ID",
                   help="avec --retry : renvoie un message à l'état incertain")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_outbox)


def _values(pairs: list[str]) -> dict:
    values = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip().isidentifier():
            fail(f"--set : CLE=VALEUR attendu, reçu « {pair} »", 2)
        values[key.strip()] = value
    return values


def cmd_templates(args, ctx) -> int:
    items = templates.list_templates(ctx.config)
    if args.json:
        ctx.print_json([{"name": t.name, "title": t.title, "categories": t.categories, "topics": t.topics} for t in items])
        return 0
    table = Table(title="Réponses types", title_justify="left")
    for column in ("Nom", "Titre", "Catégories"):
        table.add_column(column)
    for t in items:
        table.add_row(t.name, t.title, ", ".join(t.categories))
    ctx.console.print(table)
    return 0


def cmd_reply(args, ctx) -> int:
    rt = Runtime(ctx.config)
    values = _values(args.set)
    now = ctx.now()
    if args.preview:
        with ctx.session() as session:
            prepared = reply.prepare(session, rt, args.reference, args.template, values, now)
            text = reply.preview(prepared)
        ctx.console.print(text, markup=False, highlight=False)
        return 0
    result = reply.send(ctx.engine, rt, args.reference, args.template, args.by, values, now)
    if args.json:
        ctx.print_json(result)
    elif result["status"] == "sent":
        ctx.console.print(f"Réponse envoyée pour {result['reference']} ({result['message_id']}).")
    else:
        ctx.console.print(f"Réponse enregistrée pour {result['reference']} ; envoi en attente : {result['error']}. "
                          "Elle sera renvoyée automatiquement (ou avec « tracer outbox --retry »).")
    return 0


def cmd_outbox(args, ctx) -> int:
    cfg = ctx.config
    results = []
    if args.retry:
        results = outbox.retry_due(ctx.engine, cfg, ctx.now(), all_pending=True, force_ids=args.force)
    with ctx.session() as session:
        items = outbox.listing(session, cfg.tz)
    if args.json:
        ctx.print_json({"sent": sum(r["status"] == "sent" for r in results), "results": results, "queued": items})
        return 0
    if args.retry:
        ctx.console.print(f"{sum(r['status'] == 'sent' for r in results)} message(s) envoyé(s) sur {len(results)} tenté(s).")
    labels = {"pending": "en attente", "failed": "refusé", "uncertain": "état incertain"}
    table = Table(title=f"File d'envoi : {len(items)} message(s)", title_justify="left")
    for column in ("N°", "Type", "État", "À", "Objet", "Essais", "Dernière erreur"):
        table.add_column(column, overflow="fold")
    for r in items:
        table.add_row(str(r["id"]), r["kind"], labels.get(r["status"], r["status"]), ", ".join(r["to"]), r["subject"],
                      str(r["attempts"]), r["last_error"] or "—")
    ctx.console.print(table)
    return 0
