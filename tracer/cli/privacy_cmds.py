"""``purge`` and ``person`` (RGPD)."""

from __future__ import annotations

import json

from tracer.core import files
from tracer.register import retention
from tracer.cli.context import fail
from tracer.services import Runtime


def register(sub) -> None:
    p = sub.add_parser("purge", help="purge les contenus et données personnelles au-delà de la durée de conservation")
    p.add_argument("--dry-run", action="store_true", help="compte sans rien effacer")
    p.add_argument("--by", default="tracer", metavar="AGENT")
    p.add_argument("--as-of", metavar="T")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_purge)

    p = sub.add_parser("person", help="droit d'accès (--export) et d'effacement (--erase) d'un expéditeur")
    p.add_argument("email", metavar="EMAIL", help="adresse électronique de la personne")
    p.add_argument("--export", metavar="FICHIER", help="écrit en JSON tout ce qui est conservé sur cette personne")
    p.add_argument("--erase", action="store_true", help="efface ses données personnelles (tracé)")
    p.add_argument("--by", metavar="AGENT")
    p.set_defaults(handler=cmd_person)


def cmd_purge(args, ctx) -> int:
    rt = Runtime(ctx.config)
    result = retention.purge(ctx.engine, rt, ctx.as_of(args.as_of), by=args.by, dry_run=args.dry_run)
    if args.json:
        ctx.print_json(result)
    else:
        verb = "seraient purgées" if args.dry_run else "purgées"
        ctx.console.print(f"{result['requests']} demande(s) {verb} ({result['messages']} message(s)), "
                          f"{result['quarantined']} message(s) en quarantaine ; conservation {rt.cfg.retention.body_days} jours.")
    return 0


def cmd_person(args, ctx) -> int:
    if not args.export and not args.erase:
        fail("précisez --export FICHIER ou --erase --by AGENT", 2)
    rt = Runtime(ctx.config)
    if args.export:
        with ctx.session() as session:
            data = retention.export_person(session, rt, args.email)
        files.write_text(args.export, json.dumps(data, ensure_ascii=False, indent=2, default=str))
        ctx.console.print(f"Export écrit : {args.export} ({len(data['requests'])} demande(s), {len(data['messages'])} message(s))")
    if args.erase:
        result = retention.erase(ctx.engine, rt, args.email, args.by or "", ctx.now())
        ctx.console.print(f"Données effacées : {result['requests']} demande(s), {result['messages']} message(s), "
                          f"{result['quarantined']} en quarantaine, {result['outbox']} envoi(s) dont {result['cancelled']} annulé(s).")
    return 0
