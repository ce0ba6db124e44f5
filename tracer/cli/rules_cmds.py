"""``rules check``, ``rules train``, ``rules report`` and ``classify [--explain] FILE.eml``."""

from __future__ import annotations

import sys
from pathlib import Path

from tracer.rules.classify import load_rules
from tracer.cli.context import fail
from tracer.rules.deadlines import DeadlineRules, load_deadline_rules
from tracer.rules.errors import RulesError


def register(sub) -> None:
    p = sub.add_parser("rules", help="règles de classement et de délais")
    rsub = p.add_subparsers(dest="rules_command", metavar="ACTION")
    check = rsub.add_parser("check", help="vérifie les règles")
    check.set_defaults(handler=cmd_check)
    train = rsub.add_parser("train", help="réentraîne le modèle sur les corpus livrés et les corrections des agents")
    train.add_argument("--json", action="store_true")
    train.set_defaults(handler=cmd_train)
    report = rsub.add_parser("report", help="corrections du classement par les agents (dernier trimestre)")
    report.add_argument("--depuis", metavar="AAAA-MM-JJ", help="début de la période (défaut : il y a 3 mois)")
    report.add_argument("--json", action="store_true")
    report.set_defaults(handler=cmd_report)

    p = sub.add_parser("classify", help="classe un message .eml et explique la décision")
    p.add_argument("file", metavar="FICHIER.eml", help="le message à classer")
    p.add_argument("--explain", action="store_true", help="montre chaque règle évaluée")
    p.add_argument("--mailbox", metavar="NOM", help="comme reçu par cette boîte (défaut : la première)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_classify)


def _load(ctx):
    folder = ctx.config.rules_dir
    problems = []
    rules = deadlines = None
    try:
        rules = load_rules(folder, ctx.config.data_dir)
    except RulesError as exc:
        problems += exc.problems
    path = Path(folder) / "deadlines.toml"
    try:
        deadlines = load_deadline_rules(path) if path.exists() else DeadlineRules.default()
    except RulesError as exc:
        problems += exc.problems
    if problems:
        for line in problems:
            sys.stderr.write(f"règles : {line}\n")
        raise SystemExit(2)
    return rules, deadlines


def cmd_check(args, ctx) -> int:
    rules, deadlines = _load(ctx)
    ctx.console.print(f"Règles valides : {len(rules)} règles de classement, {len(deadlines.rules)} règle(s) de délai "
                      f"({ctx.config.rules_dir}).")
    return 0


def cmd_classify(args, ctx) -> int:
    from tracer.mail.parse import ParseError, parse

    rules, _ = _load(ctx)
    try:
        raw = Path(args.file).read_bytes()
    except OSError:
        fail(f"fichier illisible : {args.file}")
    try:
        message = parse(raw)
    except ParseError as exc:
        fail(f"message illisible ({exc}) : il serait mis en quarantaine")
    address = None
    if args.mailbox:
        try:
            address = ctx.config.mailbox(args.mailbox).address
        except KeyError:
            fail(f"--mailbox : boîte inconnue « {args.mailbox} »", 2)
    decision = rules.classify(message, mailbox_name=args.mailbox, mailbox_address=address)
    if args.json:
        ctx.print_json({"category": decision.category, "topic": decision.topic, "rule_ids": decision.rule_ids,
                        "trace": [{"rule": t.rule, "hit": t.hit, "why": t.why} for t in decision.trace]})
    elif args.explain:
        ctx.console.print(rules.explain(decision), markup=False, highlight=False)
    else:
        ctx.console.print(f"{decision.category}" + (f" ({decision.topic})" if decision.topic else ""))
    return 0


def cmd_train(args, ctx) -> int:
    from tracer.mail import learning
    from tracer.services import Runtime

    _load(ctx)  # invalid rules: the French lines, exit 2
    rt = Runtime(ctx.config)
    with ctx.session() as session:
        try:
            done = learning.train_local(session, rt, ctx.now())
        except ImportError:
            fail("l'entraînement demande scikit-learn (pip install scikit-learn)", 2)
        except OSError as exc:
            fail(f"modèle non écrit ({exc.strerror or exc}) : {learning.local_model_path(rt.cfg.data_dir)}")
    if args.json:
        ctx.print_json(done)
    else:
        ctx.console.print(
            f"Modèle entraîné sur {done['corpus']} messages des corpus livrés et {done['corrections']} correction(s) "
            f"des agents ({done['features']} indices de catégorie, {done['topic_features']} de thème) : {done['path']}",
            markup=False, highlight=False)
    return 0


def cmd_report(args, ctx) -> int:
    from tracer.core import clock
    from tracer.cli.tables import CATEGORY_FR, new_table
    from tracer.reports import corrections
    from tracer.rules.vocabulary import CATEGORIES

    now = ctx.now()
    since = None
    if args.depuis:
        try:
            since = clock.parse_instant(args.depuis, ctx.config.tz)
        except ValueError:
            fail(f"--depuis : date invalide « {args.depuis} » (attendu JJ/MM/AAAA ou AAAA-MM-JJ)", 2)
    with ctx.session() as session:
        data = corrections.report(session, now, since)
    if args.json:
        ctx.print_json({"since": data["since"].isoformat(), "until": data["until"].isoformat(), "rows": data["rows"],
                        "matrix": data["matrix"], "total": data["total"], "corrected": data["corrected"]})
        return 0
    since_fr = data["since"].astimezone(ctx.config.tz).strftime("%d/%m/%Y")
    until_fr = data["until"].astimezone(ctx.config.tz).strftime("%d/%m/%Y")
    table = new_table(f"Corrections du classement par les agents, du {since_fr} au {until_fr}")
    table.add_column("Classée par tracer en")
    table.add_column("Demandes", justify="right")
    table.add_column("Corrigées", justify="right")
    table.add_column("Taux", justify="right")
    for target in CATEGORIES:
        table.add_column(f"→ {CATEGORY_FR[target]}", justify="right")
    table.add_column("Thème corrigé", justify="right")
    for given in CATEGORIES:
        row = data["rows"][given]
        rate = f"{100 * row['corrected'] / row['classified']:.0f} %" if row["classified"] else "—"
        cells = [str(data["matrix"][given][t]) if t != given else "·" for t in CATEGORIES]
        table.add_row(CATEGORY_FR[given], str(row["classified"]), str(row["corrected"]), rate, *cells,
                      str(row["topic_corrected"]))
    ctx.console.print(table)
    total = data["total"]
    rate = f" ({100 * data['corrected'] / total:.1f} %)".replace(".", ",") if total else ""
    ctx.console.print(f"{data['corrected']} demande(s) reclassée(s) sur {total}{rate}.", markup=False, highlight=False)
    return 0
