"""``rules check`` and ``classify [--explain] FILE.eml``."""

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

    p = sub.add_parser("classify", help="classe un message .eml et explique la décision")
    p.add_argument("file", metavar="FICHIER.eml")
    p.add_argument("--explain", action="store_true", help="montre chaque règle évaluée")
    p.add_argument("--mailbox", metavar="NOM")
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
