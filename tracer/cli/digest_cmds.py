"""``digest``: the weekly delay digest (preview or send)."""

from __future__ import annotations


from tracer.core import files
from tracer.outgoing import digest
from tracer.services import Runtime


def register(sub) -> None:
    p = sub.add_parser("digest", help="bilan hebdomadaire des délais pour le référent")
    p.add_argument("--as-of", metavar="T")
    p.add_argument("--preview", action="store_true", help="écrit le bilan (texte puis HTML) sans l'envoyer")
    p.add_argument("--output", metavar="FICHIER", help="avec --preview : écrit le HTML dans ce fichier")
    p.add_argument("--json", action="store_true", help="les chiffres du bilan en JSON")
    p.set_defaults(handler=cmd_digest)


def cmd_digest(args, ctx) -> int:
    rt = Runtime(ctx.config)
    as_of = ctx.as_of(args.as_of)
    if args.preview or args.json:
        with ctx.session() as session:
            data = digest.build(session, rt, as_of)
        if args.json:
            ctx.print_json(data)
            return 0
        ctx.console.print(digest.render_text(data).rstrip("\n"))
        if args.output:  # one file: the weekly chart inside it (the mail carries it as an inline part)
            files.write_text(args.output, digest.render_html(data, None, chart_src=digest.chart_data_uri(data)))
            ctx.err.print(f"Aperçu HTML écrit : {args.output}")
        else:
            ctx.err.print("Version HTML, avec le graphique du taux hebdomadaire : ajoutez --output bilan.html")
        return 0
    ctx.require_secrets([], smtp=True)
    result = digest.send(ctx.engine, rt, as_of, ctx.now())
    if result["sent"]:
        ctx.console.print(f"Bilan envoyé à {', '.join(rt.cfg.digest.to)}.")
    elif "reason" in result:
        ctx.console.print(f"Bilan non envoyé : {result['reason']}.")
    else:
        ctx.console.print("Bilan enregistré ; envoi en attente (voir « tracer outbox »).")
    return 0
