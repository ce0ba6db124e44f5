"""``replies --unlinked`` and ``link``."""

from __future__ import annotations


from tracer.register import threads as replies
from tracer.cli.tables import new_table
from tracer.core import french
from tracer.services import Runtime


def register(sub) -> None:
    p = sub.add_parser("replies", help="messages envoyés relevés dans les dossiers Envoyés")
    p.add_argument("--unlinked", action="store_true", help="seulement ceux rattachés à aucune demande")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_replies)

    p = sub.add_parser("link", help="rattache à la main un message envoyé à une demande")
    p.add_argument("reference", metavar="REF")
    p.add_argument("message_id", metavar="MESSAGE-ID", help="Message-ID du message envoyé (tracer replies --unlinked)")
    p.add_argument("--by", required=True, metavar="AGENT")
    p.set_defaults(handler=cmd_link)


def cmd_replies(args, ctx) -> int:
    rt = Runtime(ctx.config)
    with ctx.reading() as session:
        items = replies.unlinked(session, rt)
    if args.json:
        ctx.print_json(items)
        return 0
    table = new_table(f"Messages envoyés non rattachés : {len(items)}", empty="Aucun message envoyé non rattaché.")
    table.add_column("Date", fixed=True)
    table.add_column("Boîte", min_width=8, drop=1)
    table.add_column("À", min_width=12)
    table.add_column("Objet", min_width=12)
    table.add_column("Message-ID", min_width=16, wrap=True)
    for m in items:
        table.add_row(french.short(m["received_at"], rt.cfg.tz), m["mailbox"] or "—", ", ".join(m["to"]), m["subject"] or "",
                      m["message_id"] or "—")
    ctx.console.print(table)
    return 0


def cmd_link(args, ctx) -> int:
    rt = Runtime(ctx.config)
    with ctx.session() as session:
        request = replies.link(session, rt, args.reference, args.message_id, args.by, ctx.now())
        answered = request.answered_at
    ctx.console.print(f"Message rattaché à {args.reference}" + (f" ; réponse le {french.when(answered, rt.cfg.tz)}" if answered else ""))
    return 0
