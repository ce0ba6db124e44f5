"""``templates``, ``reply`` and ``outbox``."""

from __future__ import annotations

from tracer.cli.context import fail
from tracer.cli.tables import new_table
from tracer.core import french
from tracer.services import Runtime


def register(sub) -> None:
    p = sub.add_parser("templates", help="les réponses types disponibles")
    p.add_argument("--json", action="store_true")
    p.add_argument("--check", action="store_true", help="vérifie la syntaxe et l'en-tête de chaque modèle")
    p.set_defaults(handler=cmd_templates)

    p = sub.add_parser("reply", help="répond à une demande avec une réponse type")
    p.add_argument("reference", metavar="REF")
    p.add_argument("--template", required=True, metavar="NOM", help="nom de la réponse type (tracer templates)")
    p.add_argument("--by", required=True, metavar="AGENT")
    p.add_argument("--set", action="append", default=[], metavar="CLE=VALEUR", help="valeur libre pour le modèle")
    p.add_argument("--preview", action="store_true", help="affiche la réponse sans l'envoyer")
    p.add_argument("--force", action="store_true",
                   help="envoie la réponse type même si elle n'est pas prévue pour la catégorie de la demande")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_reply)

    p = sub.add_parser("outbox", help="envois en attente ou en échec")
    p.add_argument("--retry", action="store_true", help="tente maintenant l'envoi des messages en attente")
    p.add_argument("--force", type=int, action="append", default=[], metavar="ID",
                   help="renvoie ce message même à l'état incertain ou refusé (après vérification)")
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
    from tracer.outgoing import templates  # jinja2 and aiosmtplib load only here

    if args.check:
        problems = templates.check_all(ctx.config)
        for line in problems:
            ctx.err.print(line, markup=False, soft_wrap=True)
        if not problems:
            ctx.console.print(f"{len(templates.list_templates(ctx.config))} modèle(s), aucun problème.")
        return 1 if problems else 0
    items = templates.list_templates(ctx.config)
    if args.json:
        ctx.print_json([{"name": t.name, "title": t.title, "categories": t.categories, "topics": t.topics} for t in items])
        return 0
    table = new_table("Réponses types", empty="Aucune réponse type (dossier templates_dir vide).")
    table.add_column("Nom", fixed=True)
    table.add_column("Titre", min_width=16)
    table.add_column("Catégories", min_width=12, wrap=True)
    for t in items:
        table.add_row(t.name, t.title, ", ".join(french.category(c) for c in t.categories))
    ctx.console.print(table)
    return 0


def cmd_reply(args, ctx) -> int:
    from tracer.outgoing import reply  # jinja2 and aiosmtplib load only here

    if not args.preview:
        ctx.require_secrets([], smtp=True)
    rt = Runtime(ctx.config)
    values = _values(args.set)
    now = ctx.now()
    result = reply.send_reply(ctx.engine, rt, args.reference, args.template, args.by, values, now, preview=args.preview,
                              force=args.force)
    if args.preview:
        if args.json:
            ctx.print_json(result)
        else:
            ctx.console.print(result["preview"], markup=False, highlight=False)
        return 0
    if args.json:
        ctx.print_json(result)
        return 1 if result["status"] == "failed" else 0
    if result["status"] == "sent":
        ctx.console.print(f"Réponse envoyée pour {result['reference']} ({result['message_id']}).", markup=False, soft_wrap=True)
    elif result["status"] == "failed":
        ctx.err.print(f"Réponse enregistrée pour {result['reference']} mais refusée définitivement : {result['error']}. "
                      "La demande reste sans réponse (son échéance court toujours). "
                      f"Voir « tracer outbox » (envoi n° {result['outbox_id']}).", markup=False, soft_wrap=True)
        return 1
    elif result["status"] == "sending":
        ctx.console.print(f"Réponse enregistrée pour {result['reference']} ; {result['error']}. Vérifiez avec "
                          f"« tracer outbox » (envoi n° {result['outbox_id']}) avant tout renvoi.", markup=False, soft_wrap=True)
    else:
        ctx.console.print(f"Réponse enregistrée ; envoi en attente : {result['error']}. Demande {result['reference']} : "
                          "la réponse partira automatiquement (ou avec « tracer outbox --retry ») ; la demande sera répondue "
                          "quand le serveur l'aura acceptée.", markup=False, soft_wrap=True)
    return 0


def cmd_outbox(args, ctx) -> int:
    from tracer.outgoing import outbox  # jinja2 and aiosmtplib load only here

    cfg = ctx.config
    if args.retry or args.force:
        ctx.require_secrets([], smtp=True)
    results, now = [], ctx.now()
    if args.retry:  # every pending one, whatever its next attempt time, and the forced ones
        results = outbox.retry_due(ctx.engine, cfg, now, all_pending=True, force_ids=args.force)
    elif args.force:  # --force ID alone resends just those
        results = [{"id": i, "status": outbox.deliver(ctx.engine, cfg, i, now, force=True)} for i in args.force]
    with ctx.session() as session:
        items = outbox.listing(session, cfg.tz)
        copies = outbox.missing_copies(session, cfg.tz)
    if args.json:
        ctx.print_json({"sent": sum(r["status"] == "sent" for r in results), "results": results, "queued": items,
                        "sent_copies_missing": copies})
        return 0
    if args.retry or args.force:
        ctx.console.print(f"{sum(r['status'] == 'sent' for r in results)} message(s) envoyé(s) sur {len(results)} tenté(s).")
    table = new_table(f"File d'envoi : {len(items)} message(s)", empty="File d'envoi vide : tout est parti.")
    table.add_column("N°", fixed=True, justify="right")
    table.add_column("Type", fixed=True)
    table.add_column("État", fixed=True)
    table.add_column("À", min_width=12)
    table.add_column("Objet", min_width=12)
    table.add_column("Essais", fixed=True, justify="right")
    table.add_column("Dernière erreur", min_width=14, wrap=True)
    for r in items:
        table.add_row(str(r["id"]), french.OUTBOX_KIND.get(r["kind"], r["kind"]), french.OUTBOX_STATUS.get(r["status"], r["status"]),
                      ", ".join(r["to"]), r["subject"], str(r["attempts"]), r["last_error"] or "—")
    ctx.console.print(table)
    uncertain = [str(r["id"]) for r in items if r["status"] == "uncertain"]
    if uncertain:
        ctx.console.print(f"État incertain (n° {', '.join(uncertain)}) : l'envoi a peut-être abouti. Vérifiez qu'il n'est "
                          "pas arrivé avant de le renvoyer avec « tracer outbox --retry --force N° ».", markup=False, soft_wrap=True)
    if copies:
        missing = new_table(f"Réponses parties dont la copie manque dans Envoyés : {len(copies)}")
        missing.add_column("N°", fixed=True, justify="right")
        missing.add_column("Envoyée le", fixed=True)
        missing.add_column("Boîte", min_width=8)
        missing.add_column("À", min_width=12)
        missing.add_column("Erreur de la copie", min_width=14, wrap=True)
        for c in copies:
            missing.add_row(str(c["id"]), french.short(c["sent_at"], cfg.tz), c["mailbox"], ", ".join(c["to"]),
                            c["error"] or "copie pas encore déposée")
        ctx.console.print(missing)
        ctx.console.print(f"Nouvel essai automatique à partir du {french.when(min(c['next_attempt_at'] for c in copies), cfg.tz)} "
                          "(tracer run), ou tout de suite avec « tracer outbox --retry ».")
    return 0
