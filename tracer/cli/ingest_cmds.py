"""``poll``, ``import``, ``quarantine`` and ``demo``."""

from __future__ import annotations

import sys


from tracer.core import clock
from tracer.core import french
from tracer.cli.context import fail
from tracer.mail import glance
from tracer.mail.summary import Summary
from tracer.cli.tables import new_table
from tracer.services import Runtime


def register(sub) -> None:
    p = sub.add_parser("poll", help="relève une fois toutes les boîtes (réception et envoyés)")
    p.add_argument("--mailbox", action="append", help="seulement cette boîte (répétable)")
    p.add_argument("--json", action="store_true", help="résumé JSON")
    p.set_defaults(handler=cmd_poll)

    p = sub.add_parser("import", help="enregistre des messages .eml, mbox ou Maildir (reprise d'historique)")
    p.add_argument("paths", nargs="+", metavar="CHEMIN", help="fichiers .eml, dossiers, mbox ou Maildir")
    p.add_argument("--mailbox", help="boîte de réception d'arrivée (défaut : la première)")
    p.add_argument("--sent", action="store_true", help="ce sont des messages envoyés (réponses)")
    p.add_argument("--json", action="store_true", help="résumé JSON")
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("quarantine", help="messages illisibles conservés en quarantaine")
    p.add_argument("--json", action="store_true")
    p.add_argument("--export", metavar="ID", type=int, help="écrit le message brut sur la sortie standard")
    p.set_defaults(handler=cmd_quarantine)

    p = sub.add_parser("demo", help="démonstration sur un échantillon de courriels fictifs")
    p.add_argument("--data-dir", help="dossier de la base de démonstration (défaut : dossier temporaire)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--web", action="store_true",
                   help="ouvre ensuite la démonstration dans l'interface web, avec des comptes de démonstration")
    p.add_argument("--port", type=int, default=8000, metavar="PORT", help="port de l'interface web (défaut : 8000)")
    p.set_defaults(handler=cmd_demo)


def _check_rules(rt: Runtime, once: bool = False) -> None:
    from tracer.rules.errors import RulesError

    try:
        rt.check_once() if once else rt.check()
    except RulesError as exc:
        for line in exc.problems:
            sys.stderr.write(f"règles : {line}\n")
        raise SystemExit(2)


def cmd_poll(args, ctx) -> int:
    cfg = ctx.config
    if not cfg.mailboxes:
        fail("aucune boîte configurée ([[mailbox]])", 2)
    names = args.mailbox or None
    if names:
        for name in names:
            try:
                cfg.mailbox(name)
            except KeyError:
                fail(f"--mailbox : boîte inconnue « {name} »", 2)
    ctx.require_secrets(names)
    rt = Runtime(cfg)
    _check_rules(rt, once=True)  # compiled when a new message needs them
    acknowledge = any(box.acknowledge for box in cfg.mailboxes)
    # nothing new in a mailbox (STATUS against the folders' marks): no database
    # layer, no rules, no fetch; any other mailbox goes the full way
    unchanged = {} if acknowledge else glance.nothing_new(cfg, names, clock.now)
    polled = [box.name for box in cfg.mailboxes if (not names or box.name in names) and box.name not in unchanged]
    full = {}
    if polled:
        from tracer.mail import ingest

        for report in ingest.poll_all(ctx.engine, rt, polled, clock.now):
            full.setdefault(report.mailbox, []).append(report)
    reports = [r for box in cfg.mailboxes for r in unchanged.get(box.name, full.get(box.name, []))]
    if acknowledge:
        from tracer.outgoing import reply  # templates and SMTP: loaded only when acknowledgements are on

        reply.acknowledge_new(ctx.engine, rt, clock.now())
    total = Summary()
    errors = []
    for report in reports:
        total.merge(report.summary)
        if report.error:
            errors.append(f"{report.mailbox}/{report.folder} : {report.error}")
    if args.json:
        data = total.as_dict()
        data["errors"] = errors
        data["folders"] = [
            {"mailbox": r.mailbox, "folder": r.folder, "role": r.role, **r.summary.as_dict(), "error": r.error} for r in reports
        ]
        ctx.print_json(data)
    else:
        ctx.console.print(
            f"Relève terminée : {total.recorded} enregistré(s), {total.duplicates} déjà connu(s), "
            f"{total.quarantined} en quarantaine."
        )
    for line in errors:
        sys.stderr.write(f"tracer : échec de relève {line}\n")
    return 1 if errors else 0


def cmd_import(args, ctx) -> int:
    cfg = ctx.config
    if args.mailbox:
        try:
            cfg.mailbox(args.mailbox)
        except KeyError:
            fail(f"--mailbox : boîte inconnue « {args.mailbox} »", 2)
        mailbox = args.mailbox
    elif cfg.mailboxes:
        mailbox = cfg.mailboxes[0].name
    else:
        mailbox = "import"
    from tracer.mail import ingest

    rt = Runtime(cfg)
    _check_rules(rt)
    summary = ingest.import_paths(ctx.engine, rt, args.paths, mailbox, clock.now(), role="sent" if args.sent else "inbox")
    if args.json:
        ctx.print_json({**summary.as_dict(), **({"skipped": summary.skipped} if summary.skipped else {})})
    else:
        ctx.console.print(
            f"Import terminé : {summary.recorded} enregistré(s), {summary.duplicates} déjà connu(s), "
            f"{summary.quarantined} en quarantaine.", markup=False
        )
    if summary.skipped:
        shown = ", ".join(summary.skipped[:5]) + (" …" if len(summary.skipped) > 5 else "")
        sys.stderr.write(f"tracer : {len(summary.skipped)} fichier(s) ignoré(s), ce ne sont pas des messages : {shown}\n")
    return 0


def cmd_quarantine(args, ctx) -> int:
    from tracer.mail import quarantine

    with ctx.session() as session:
        if args.export is not None:
            sys.stdout.buffer.write(quarantine.raw(session, args.export))
            return 0
        items = quarantine.listing(session, ctx.config.tz)
    if args.json:
        ctx.print_json(items)
        return 0
    table = new_table(f"Quarantaine : {len(items)} message(s)", empty="Aucun message en quarantaine.")
    table.add_column("N°", fixed=True, justify="right")
    table.add_column("Reçu le", fixed=True)
    table.add_column("Boîte", min_width=8, drop=1)
    table.add_column("Origine", min_width=12)
    table.add_column("Taille", fixed=True, justify="right")
    table.add_column("Motif", min_width=16, wrap=True)
    for item in items:
        table.add_row(str(item["id"]), french.short(item["received_at"], ctx.config.tz), item["mailbox"] or "—",
                      item["source"] or "—", str(item["size"]), item["reason"])
    ctx.console.print(table)
    return 0


def cmd_demo(args, ctx) -> int:
    from tracer import demo
    from tracer.cli.tables import cases_table, stats_table
    from tracer.core import config as config_mod

    result = demo.run(args.data_dir, clock.now())
    if args.json:
        ctx.print_json({k: v for k, v in result.items() if k != "stats"})
        return 0
    cfg = config_mod.load(result["config"])
    out = ctx.console
    out.print("Démonstration : une préfecture fictive (Haute-Savoie), deux boîtes fonctionnelles, un trimestre de "
              "courriels fictifs datés jusqu'à aujourd'hui.")
    out.print(f"Import : {result['import']['recorded']} message(s) enregistré(s), "
              f"{result['import']['quarantined']} en quarantaine.")
    out.print("")
    in_scope = [c for c in result["cases"] if c["status"] != "excluded"]
    excluded = len(result["cases"]) - len(in_scope)
    out.print(cases_table(in_scope, cfg, title=f"Registre : {len(in_scope)} demande(s) du périmètre"))
    out.print(f"… et {excluded} message(s) hors périmètre ou automatiques, listés par « cases --status excluded ».")
    out.print("")
    out.print(stats_table(result["stats"], ["service"], cfg,
                          title=f"Indicateurs du trimestre glissant ({french.period(result['period']['from'], result['period']['to'])})"))
    total = result["stats"]["total"]
    out.print(f"Taux de réponse dans les délais : {french.percent(total['rate_on_time'])} (objectif : plus de 80 %) ; "
              f"délai moyen : {french.number(total['mean_delay_days'])} jours.")
    out.print("")
    out.print(f"Bilan hebdomadaire (aperçu HTML) : {result['digest_html']}")
    out.print(f"Indicateurs du trimestre (XLSX) : {result['xlsx']}")
    out.print(f"Configuration de la démonstration : {result['config']}")
    late = next((c["reference"] for c in in_scope if c["status"] == "overdue"), in_scope[0]["reference"] if in_scope else "")
    config = result["config"]
    out.print("")
    out.print("Pour explorer la démonstration (chaque commande tient sur une ligne, à copier telle quelle) :")
    from tracer.cli.tables import clean

    def command(text: str) -> None:  # never wrapped: a command is copied whole
        out.stream.write(clean(f"  {text}") + "\n")

    command(f"tracer --config {config} cases")
    out.print("ou, pour les suivantes, une fois pour toutes :")
    command(f"export TRACER_CONFIG={config}")
    for line in (
        "tracer cases --status open",
        f"tracer show {late}",
        f"tracer stats --from {french.day(result['period']['from'])} --to {french.day(result['period']['to'])} --by month",
        "tracer alerts --dry-run",
        "tracer digest --preview",
        f"tracer reply {late} --template accuse_reception --by agent.demo --preview",
    ):
        command(line)
    where = "dossier temporaire" if result["temporary"] else "dossier"
    out.print(f"Tout est conservé dans le {where} {result['folder']} (à supprimer quand vous n'en avez plus besoin).")
    if args.web:
        from tracer.cli.web_cmds import serve

        made = demo.add_web_accounts(cfg, clock.now())
        out.print("")
        out.print(f"Interface web de la démonstration : http://127.0.0.1:{args.port}/ — comptes de démonstration :")
        for login, role, password in made:
            command(f"identifiant {login} ({role}), mot de passe {password}")
        serve(cfg, "127.0.0.1", args.port, ctx.err)
    return 0
