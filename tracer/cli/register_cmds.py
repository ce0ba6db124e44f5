"""``cases``, ``show``, ``register-paper``, ``reclassify``, ``transfer``, ``assign``, ``answer``."""

from __future__ import annotations


from tracer.register import requests as reg
from tracer.cli.context import fail
from tracer.cli.tables import cases_table, CATEGORY_FR, event_details, EVENT_FR, new_table, service_label, status_fr, topic_fr
from tracer.core import french
from tracer.rules.vocabulary import CATEGORIES, topic_ids
from tracer.services import Runtime


def register(sub) -> None:
    p = sub.add_parser("cases", help="le registre des demandes, trié par échéance")
    p.add_argument("--status", default="all", choices=reg.STATUSES,
                   help="open : en cours, overdue : en retard, answered : répondues, excluded : exclues, all : toutes (défaut)")
    p.add_argument("--service", metavar="SERVICE", help="seulement ce service (son nom dans la configuration)")
    p.add_argument("--category", choices=CATEGORIES, help="catégorie")
    p.add_argument("--channel", choices=reg.CHANNELS, help="canal d'arrivée : email ou paper")
    p.add_argument("--assignee", metavar="AGENT", help="demandes attribuées à cet agent")
    p.add_argument("--search", metavar="TEXTE", help="texte cherché dans la référence, l'expéditeur et l'objet")
    p.add_argument("--limit", type=int, metavar="N", help="au plus N demandes")
    p.add_argument("--offset", type=int, default=0, metavar="N", help="en sautant les N premières")
    p.add_argument("--order", choices=reg.ORDERS, default="deadline",
                   help="tri : échéance (défaut), réception (-received : la plus récente d'abord), référence")
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
    p.add_argument("--sender", metavar="EXPEDITEUR", help="nom de l'expéditeur (obligatoire sauf --anonymous)")
    p.add_argument("--subject", required=True, metavar="OBJET", help="objet du courrier")
    p.add_argument("--service", required=True, metavar="SERVICE", help="service destinataire")
    p.add_argument("--category", choices=CATEGORIES, help="catégorie (défaut : celle que donnent les règles)")
    p.add_argument("--topic", metavar="THEME", help="thème (réclamations et suggestions)")
    p.add_argument("--email", help="adresse électronique de l'expéditeur, s'il en a donné une")
    p.add_argument("--by", default="tracer", metavar="AGENT", help="agent qui enregistre le courrier")
    p.add_argument("--anonymous", action="store_true",
                   help="courrier sans adresse de réponse : pas d'échéance, hors taux de réponse dans les délais")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_register_paper)

    p = sub.add_parser("reclassify", help="change la catégorie d'une demande (tracé)")
    p.add_argument("reference", metavar="REF")
    p.add_argument("category", metavar="CATEGORIE", choices=CATEGORIES, help=f"nouvelle catégorie : {', '.join(CATEGORIES)}")
    p.add_argument("--topic", metavar="THEME", help="thème (réclamations et suggestions) : " + ", ".join(topic_ids()))
    p.add_argument("--by", required=True, metavar="AGENT")
    p.add_argument("--reason")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_reclassify)

    p = sub.add_parser("transfer", help="transmet une demande à un autre service (tracé)")
    p.add_argument("reference", metavar="REF")
    p.add_argument("service", metavar="SERVICE", help="service qui reçoit la demande")
    p.add_argument("--by", required=True, metavar="AGENT")
    p.add_argument("--reason")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_transfer)

    p = sub.add_parser("assign", help="attribue une demande à un agent, ou la retire (tracé)")
    p.add_argument("reference", metavar="REF")
    p.add_argument("assignee", metavar="AGENT", nargs="?", help="identifiant de l'agent")
    p.add_argument("--unassign", action="store_true", help="retire l'attribution")
    p.add_argument("--by", required=True, metavar="AGENT")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_assign)

    p = sub.add_parser("answer", help="enregistre une réponse faite hors des boîtes relevées (courrier, téléphone, guichet)")
    p.add_argument("reference", metavar="REF")
    p.add_argument("--channel", required=True, choices=reg.ANSWER_CHANNELS, help="comment la réponse a été faite")
    p.add_argument("--at", required=True, metavar="T", help="instant de la réponse : JJ/MM/AAAA HH:MM ou ISO 8601 (arrête le délai)")
    p.add_argument("--by", required=True, metavar="AGENT")
    p.add_argument("--note", metavar="TEXTE", help="précision (numéro d'envoi, résumé de l'appel…)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_answer)


def cmd_cases(args, ctx) -> int:
    as_of = ctx.as_of(args.as_of)
    rt = Runtime(ctx.config)
    with ctx.reading() as session:
        cases = reg.list_cases(session, rt, status=args.status, service=args.service, category=args.category,
                               channel=args.channel, assignee=args.assignee, search=args.search, as_of=as_of,
                               received_by=as_of if args.as_of else None, limit=args.limit, offset=args.offset,
                               order=args.order)
    if args.json:
        ctx.print_json(cases)
    else:
        ctx.console.print(cases_table(cases, ctx.config))
    return 0


def cmd_show(args, ctx) -> int:
    rt = Runtime(ctx.config)
    with ctx.reading() as session:
        view = reg.show_case(session, rt, args.reference, ctx.as_of(args.as_of))
    if args.json:
        ctx.print_json(view)
        return 0
    c, cfg, tz = ctx.console, ctx.config, ctx.config.tz
    c.print(f"{view['reference']} — {view['subject'] or '(sans objet)'}")
    c.print(f"Statut : {status_fr(view)} · catégorie : {CATEGORY_FR.get(view['category'], view['category'])}"
            + (f" / {topic_fr(view['topic'])}" if view["topic"] else ""))
    c.print(f"Service : {service_label(cfg, view['service'])} · boîte : {view['mailbox'] or '—'}"
            f" · canal : {french.channel(view['channel'])}")
    sender = view["sender_name"] or ""
    if view["sender"]:
        sender = f"{sender} <{view['sender']}>" if sender else view["sender"]
    c.print(f"Expéditeur : {sender or '—'}")
    c.print(f"Reçue le {french.when(view['received_at'], tz)} · échéance {french.when(view['deadline'], tz)}"
            + (f" · réponse le {french.when(view['answered_at'], tz)}" if view["answered_at"] else " · pas encore de réponse"))
    if view["parent"]:
        c.print(f"Suite de la demande {view['parent']}")
    if view["children"]:
        c.print("Demandes suivantes : " + ", ".join(view["children"]))
    table = new_table("Fil des messages", empty="Aucun message (courrier papier).")
    table.add_column("Date", fixed=True)
    table.add_column("Sens", fixed=True)
    table.add_column("De", min_width=14)
    table.add_column("Objet", min_width=14)
    kinds = {"mail": "reçu", "reply": "réponse", "ack": "accusé"}
    for m in view["messages"]:
        table.add_row(french.short(m["received_at"], tz), kinds.get(m["kind"], m["kind"]), m["from"] or "—", m["subject"] or "")
    c.print(table)
    for m in view["messages"]:
        _print_message(c, m, kinds, tz)
    table = new_table("Historique")
    table.add_column("Date", fixed=True)
    table.add_column("Événement", min_width=12)
    table.add_column("Par", min_width=8)
    table.add_column("Détails", min_width=20, wrap=True)
    for e in view["events"]:
        details = event_details(e["data"], tz, cfg)
        if french.short(e["effective_at"], tz) != french.short(e["at"], tz):
            details = f"{details} ; enregistré le : {french.when(e['at'], tz)}" if details else f"enregistré le : {french.when(e['at'], tz)}"
        table.add_row(french.short(e["effective_at"], tz), EVENT_FR.get(e["kind"], e["kind"]), e["actor"], details)
    c.print(table)
    return 0


def _print_message(c, m: dict, kinds: dict, tz) -> None:
    """One message as the agent reads it: who, when, its own text, the history folded, attachments."""
    who = f"{m['from_name']} <{m['from']}>" if m.get("from_name") and m.get("from") else (m.get("from") or "—")
    c.print("")
    c.print(f"── {kinds.get(m['kind'], m['kind'])} le {french.when(m['received_at'], tz)} · de {who}")
    if m.get("subject"):
        c.print(f"Objet : {m['subject']}")
    text = m.get("text") or ""
    if text.strip():
        c.print("\n".join("  " + line if line.strip() else "" for line in text.splitlines()))
    elif m.get("body") is None and m["direction"] == "in":
        c.print("  (texte purgé ou effacé)")
    else:
        c.print("  (sans texte)")
    if m.get("quoted_lines"):
        c.print(f"  [… {m['quoted_lines']} ligne(s) d'historique cité masquée(s) ; tracer show --json pour le texte entier]")
    for a in m.get("attachments") or []:
        c.print(f"  Pièce jointe : {a.get('filename') or '(sans nom)'} ({_size_fr(a.get('size'))})")


def _size_fr(size) -> str:
    if not isinstance(size, int):
        return "taille inconnue"
    if size < 1024:
        return f"{size} octets"
    if size < 1024 * 1024:
        return f"{round(size / 1024)} Ko"
    return f"{size / (1024 * 1024):.1f} Mo".replace(".", ",")


def cmd_register_paper(args, ctx) -> int:
    rt = Runtime(ctx.config)
    now = ctx.now()
    with ctx.session() as session:
        request = reg.register_paper(
            session, rt, received=args.received, sender=args.sender, subject=args.subject, service=args.service,
            now=now, category=args.category, topic=args.topic, sender_addr=args.email, by=args.by,
            anonymous=args.anonymous,
        )
        view = reg.case_view(request, now, rt.cfg.tz, [])
    if args.json:
        ctx.print_json(view)
    else:
        deadline = f"échéance le {french.day(view['deadline'])}" if view["deadline"] else "sans échéance"
        ctx.console.print(f"Courrier enregistré : {view['reference']} ({deadline})")
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
        ctx.console.print(f"{view['reference']} reclassée en « {CATEGORY_FR.get(view['category'])} » ; échéance le {french.day(view['deadline'])}")
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
        ctx.console.print(f"{view['reference']} transmise au service « {service_label(ctx.config, view['service'])} » ; échéance le {french.day(view['deadline'])}")
    return 0


def cmd_assign(args, ctx) -> int:
    if args.unassign == bool(args.assignee):
        fail("assign : indiquez soit l'agent, soit --unassign")
    rt = Runtime(ctx.config)
    now = ctx.now()
    with ctx.session() as session:
        request = reg.assign(session, rt, args.reference, None if args.unassign else args.assignee, args.by, now)
        view = reg.case_view(request, now, rt.cfg.tz, [])
    if args.json:
        ctx.print_json(view)
    elif view["assignee"]:
        ctx.console.print(f"{view['reference']} attribuée à {view['assignee']}")
    else:
        ctx.console.print(f"{view['reference']} n'est plus attribuée")
    return 0


def cmd_answer(args, ctx) -> int:
    from tracer.register import threads

    rt = Runtime(ctx.config)
    now = ctx.now()
    try:
        at = french.parse_instant(args.at, rt.cfg.tz)
    except ValueError:
        fail(f"--at : date et heure attendues (JJ/MM/AAAA HH:MM ou ISO 8601), reçu « {args.at} »")
    with ctx.session() as session:
        request = threads.answer_outside(session, rt, args.reference, args.channel, at, args.by, args.note, now)
        view = reg.case_view(request, now, rt.cfg.tz, [])
    if args.json:
        ctx.print_json(view)
    else:
        ctx.console.print(f"{view['reference']} : réponse ({french.channel(args.channel)}) enregistrée le {french.when(view['answered_at'], rt.cfg.tz)}"
                          f" — {status_fr(view)}")
    return 0
