"""``cases``, ``show``, ``register-paper``, ``reclassify``, ``transfer``."""

from __future__ import annotations


from tracer.register import requests as reg
from tracer.cli.tables import cases_table, CATEGORY_FR, event_details, EVENT_FR, new_table, plain, short_time, STATUS_FR, topic_fr
from tracer.rules.vocabulary import CATEGORIES
from tracer.services import Runtime


def register(sub) -> None:
    p = sub.add_parser("cases", help="le registre des demandes, trié par échéance")
    p.add_argument("--status", default="all", choices=reg.STATUSES)
    p.add_argument("--service")
    p.add_argument("--as-of", metavar="T", help="instant ISO 8601 (défaut : maintenant)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_cases)

    p = sub.add_parser("show", help="une demande : messages, réponses et historique")
    p.add_argument("reference", metavar="REF")
    p.add_argument("--as-of", metavar="T")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_show)

    p = sub.add_parser("register-paper", help="enregistre un courrier papier")
    p.add_argument("--received", required=True, metavar="DATE",
                   help="arrivée : AAAA-MM-JJ (enregistrée à midi, heure de Paris) ou instant ISO 8601")
    p.add_argument("--sender", required=True, metavar="EXPEDITEUR", help="nom de l'expéditeur")
    p.add_argument("--subject", required=True, metavar="OBJET", help="objet du courrier")
    p.add_argument("--service", required=True, metavar="SERVICE", help="service destinataire")
    p.add_argument("--category", choices=CATEGORIES)
    p.add_argument("--topic", metavar="THEME", help="thème (réclamations et suggestions)")
    p.add_argument("--email", help="adresse électronique de l'expéditeur, s'il en a donné une")
    p.add_argument("--by", default="tracer", metavar="AGENT", help="agent qui enregistre le courrier")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_register_paper)

    p = sub.add_parser("reclassify", help="change la catégorie d'une demande (tracé)")
    p.add_argument("reference", metavar="REF")
    p.add_argument("category", metavar="CATEGORIE", choices=CATEGORIES)
    p.add_argument("--topic")
    p.add_argument("--by", required=True, metavar="AGENT")
    p.add_argument("--reason")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_reclassify)

    p = sub.add_parser("transfer", help="transmet une demande à un autre service (tracé)")
    p.add_argument("reference", metavar="REF")
    p.add_argument("service", metavar="SERVICE")
    p.add_argument("--by", required=True, metavar="AGENT")
    p.add_argument("--reason")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_transfer)


def cmd_cases(args, ctx) -> int:
    as_of = ctx.as_of(args.as_of)
    rt = Runtime(ctx.config)
    with ctx.session() as session:
        cases = reg.list_cases(session, rt, status=args.status, service=args.service, as_of=as_of,
                               received_by=as_of if args.as_of else None)
    if args.json:
        ctx.print_json(cases)
    else:
        ctx.console.print(cases_table(cases))
    return 0


def cmd_show(args, ctx) -> int:
    rt = Runtime(ctx.config)
    with ctx.session() as session:
        view = reg.show_case(session, rt, args.reference, ctx.as_of(args.as_of))
    if args.json:
        ctx.print_json(view)
        return 0
    c = ctx.console
    c.print(f"[bold]{view['reference']}[/bold] — {view['subject'] or '(sans objet)'}")
    c.print(f"Statut : {STATUS_FR.get(view['status'])} · catégorie : {CATEGORY_FR.get(view['category'], view['category'])}"
            + (f" / {topic_fr(view['topic'])}" if view["topic"] else ""))
    c.print(f"Service : {view['service'] or '—'} · boîte : {view['mailbox'] or '—'} · canal : {view['channel']}")
    c.print(f"Expéditeur : {view['sender_name'] or ''} <{view['sender'] or '—'}>")
    c.print(f"Reçue le {short_time(view['received_at'])} · échéance {short_time(view['deadline'])}"
            f" · réponse {short_time(view['answered_at'])}")
    if view["parent"]:
        c.print(f"Suite de la demande {view['parent']}")
    if view["children"]:
        c.print("Demandes suivantes : " + ", ".join(view["children"]))
    table = new_table("Fil des messages")
    for column in ("Date", "Sens", "De", "Objet"):
        table.add_column(column, overflow="fold")
    kinds = {"mail": "reçu", "reply": "réponse", "ack": "accusé de réception"}
    for m in view["messages"]:
        table.add_row(short_time(m["received_at"]), kinds.get(m["kind"], m["kind"]), m["from"] or "—", m["subject"] or "")
    c.print(table)
    table = new_table("Historique")
    for column in ("Date", "Événement", "Par", "Détails"):
        table.add_column(column, overflow="fold")
    for e in view["events"]:
        table.add_row(short_time(e["at"]), EVENT_FR.get(e["kind"], e["kind"]), e["actor"], plain(event_details(e["data"])))
    c.print(table)
    return 0


def cmd_register_paper(args, ctx) -> int:
    rt = Runtime(ctx.config)
    now = ctx.now()
    with ctx.session() as session:
        request = reg.register_paper(
            session, rt, received=args.received, sender=args.sender, subject=args.subject, service=args.service,
            now=now, category=args.category, topic=args.topic, sender_addr=args.email, by=args.by,
        )
        view = reg.case_view(request, now, rt.cfg.tz, [])
    if args.json:
        ctx.print_json(view)
    else:
        ctx.console.print(f"Courrier enregistré : {view['reference']} (échéance {short_time(view['deadline'])})")
    return 0


def cmd_reclassify(args, ctx) -> int:
    rt = Runtime(ctx.config)
    now = ctx.now()
    with ctx.session() as session:
        request = reg.reclassify(session, rt, args.reference, args.category, args.by, now, reason=args.reason, topic=args.topic)
        view = reg.case_view(request, now, rt.cfg.tz, [])
    if args.json:
        ctx.print_json(view)
    else:
        ctx.console.print(f"{view['reference']} reclassée en « {CATEGORY_FR.get(view['category'])} » ; échéance {short_time(view['deadline'])}")
    return 0


def cmd_transfer(args, ctx) -> int:
    rt = Runtime(ctx.config)
    now = ctx.now()
    with ctx.session() as session:
        request = reg.transfer(session, rt, args.reference, args.service, args.by, now, reason=args.reason)
        view = reg.case_view(request, now, rt.cfg.tz, [])
    if args.json:
        ctx.print_json(view)
    else:
        ctx.console.print(f"{view['reference']} transmise au service « {view['service']} » ; échéance {short_time(view['deadline'])}")
    return 0
