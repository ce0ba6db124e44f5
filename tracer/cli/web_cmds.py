"""``web`` (serves the web interface) and ``user`` (its accounts)."""

from __future__ import annotations

import os
from pathlib import Path

from tracer.cli.context import fail, run_user_errors
from tracer.cli.tables import new_table
from tracer.register import accounts


def register(sub) -> None:
    p = sub.add_parser("web", help="sert l'interface web (défaut : 127.0.0.1:8000)")
    p.add_argument("--host", default="127.0.0.1", metavar="ADRESSE", help="adresse d'écoute (défaut : 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, metavar="PORT", help="port d'écoute (défaut : 8000)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="processus servant les pages, un par cœur par exemple (défaut : 1)")
    p.set_defaults(handler=cmd_web)

    p = user_parser = sub.add_parser("user", help="comptes de l'interface web")
    users = p.add_subparsers(dest="user_command", metavar="ACTION", parser_class=type(p))
    a = users.add_parser("add", help="crée un compte local (mot de passe : TRACER_USER_PASSWORD, sinon demandé)")
    a.add_argument("login", metavar="IDENTIFIANT", help="identifiant du compte")
    a.add_argument("--role", required=True, choices=accounts.ROLES, help="agent, referent, auditeur ou admin")
    a.add_argument("--service", action="append", default=[], metavar="SERVICE",
                   help="service dont l'agent voit les demandes (répétable)")
    a.add_argument("--name", metavar="NOM", help="nom affiché")
    a.add_argument("--email", metavar="ADRESSE", help="adresse électronique (connexion unique OpenID Connect)")
    a.set_defaults(handler=cmd_user_add)
    a = users.add_parser("list", help="liste les comptes")
    a.add_argument("--json", action="store_true")
    a.set_defaults(handler=cmd_user_list)
    a = users.add_parser("disable", help="désactive un compte (ses sessions et jetons cessent aussitôt)")
    a.add_argument("login", metavar="IDENTIFIANT", help="identifiant du compte")
    a.set_defaults(handler=cmd_user_disable)
    a = users.add_parser("update", help="change le rôle ou les services d'un compte (ses sessions se ferment)")
    a.add_argument("login", metavar="IDENTIFIANT", help="identifiant du compte")
    a.add_argument("--role", choices=accounts.ROLES, help="nouveau rôle : agent, referent, auditeur ou admin")
    a.add_argument("--service", action="append", metavar="SERVICE",
                   help="services de l'agent (répétable ; remplace la liste)")
    a.set_defaults(handler=cmd_user_update)
    a = users.add_parser("password", help="réinitialise le mot de passe (TRACER_USER_PASSWORD, sinon tiré au hasard "
                                          "et affiché une seule fois, en dernière ligne)")
    a.add_argument("login", metavar="IDENTIFIANT", help="identifiant du compte")
    a.set_defaults(handler=cmd_user_password)
    a = users.add_parser("token", help="crée un jeton personnel d'API (affiché une seule fois, en dernière ligne)")
    a.add_argument("login", metavar="IDENTIFIANT", help="identifiant du compte")
    a.set_defaults(handler=cmd_user_token)
    user_parser.set_defaults(handler=lambda args, ctx: (user_parser.print_help(), 2)[1])


def cmd_web(args, ctx) -> int:
    import uvicorn

    from tracer.web.app import create_app

    if not 0 < args.port < 65536:
        fail(f"--port : port entre 1 et 65535 attendu, reçu {args.port}")
    if not 0 < args.workers <= 64:
        fail(f"--workers : nombre de processus entre 1 et 64 attendu, reçu {args.workers}")
    ctx.err.print(f"tracer web : http://{args.host}:{args.port}/ (arrêt : Ctrl-C)")
    if args.workers > 1:
        # each worker process builds its own app (and engine) from the same configuration file
        if ctx.config.path is not None:
            os.environ["TRACER_CONFIG"] = str(Path(ctx.config.path).resolve())
        uvicorn.run("tracer.web.app:create_app", factory=True, workers=args.workers, host=args.host, port=args.port,
                    log_level="warning", proxy_headers=True)
        return 0
    app = create_app(ctx.config, engine=ctx.engine)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", proxy_headers=True)
    return 0


def _password() -> str:
    password = os.environ.get("TRACER_USER_PASSWORD")
    if password is None:
        import getpass
        import sys

        if not sys.stdin.isatty():
            fail("mot de passe : définissez TRACER_USER_PASSWORD (pas de terminal pour le demander)")
        password = getpass.getpass("Mot de passe : ")
        if getpass.getpass("Confirmation : ") != password:
            fail("les deux mots de passe diffèrent")
    return password


@run_user_errors
def cmd_user_add(args, ctx) -> int:
    password = _password()
    with ctx.session() as session:
        account = accounts.add_account(session, args.login, args.role, ctx.now(), password=password,
                                       services=args.service, name=args.name, email=args.email,
                                       known_services=ctx.config.service_names())
        login, role = account.login, account.role
    ctx.console.print(f"Compte créé : {login} ({accounts.ROLE_FR[role]})")
    return 0


@run_user_errors
def cmd_user_list(args, ctx) -> int:
    with ctx.session() as session:
        views = [accounts.account_view(a, ctx.config.tz) for a in accounts.list_accounts(session)]
    if args.json:
        ctx.print_json(views)
        return 0
    table = new_table("Comptes", empty="Aucun compte : créez le premier avec « tracer user add IDENTIFIANT --role admin ».")
    table.add_column("Identifiant", fixed=True)
    table.add_column("Nom", min_width=10)
    table.add_column("Rôle", fixed=True)
    table.add_column("Services", min_width=10)
    table.add_column("État", fixed=True)
    for v in views:
        table.add_row(v["login"], v["name"] or "—", accounts.ROLE_FR[v["role"]], ", ".join(v["services"]) or "—",
                      "désactivé" if v["disabled"] else "actif")
    ctx.console.print(table)
    return 0


@run_user_errors
def cmd_user_disable(args, ctx) -> int:
    with ctx.session() as session:
        login = accounts.disable_account(session, args.login, ctx.now()).login
    ctx.console.print(f"Compte désactivé : {login} (ses sessions et jetons ne sont plus acceptés)")
    return 0


@run_user_errors
def cmd_user_token(args, ctx) -> int:
    with ctx.session() as session:
        token = accounts.new_token(session, args.login, ctx.now())
    ctx.console.print(f"Jeton personnel de {args.login.strip()} (affiché une seule fois, gardez-le en lieu sûr) :")
    ctx.console.print(token)
    return 0


@run_user_errors
def cmd_user_update(args, ctx) -> int:
    if args.role is None and args.service is None:
        fail("précisez ce qui change : --role ROLE et/ou --service SERVICE", 2)
    with ctx.session() as session:
        account = accounts.update_account(session, args.login, ctx.now(), role=args.role, services=args.service,
                                          known_services=ctx.config.service_names())
        login, role, services = account.login, account.role, list(account.services or [])
    ctx.console.print(f"Compte modifié : {login} ({accounts.ROLE_FR[role]}"
                      + (f", services : {', '.join(services)}" if services else "") + ") ; ses sessions sont fermées")
    return 0


@run_user_errors
def cmd_user_password(args, ctx) -> int:
    chosen = os.environ.get("TRACER_USER_PASSWORD")
    with ctx.session() as session:
        password = accounts.reset_password(session, args.login, ctx.now(), password=chosen)
    if chosen is not None:
        ctx.console.print(f"Mot de passe de {args.login.strip()} changé (celui de TRACER_USER_PASSWORD) ; "
                          "ses sessions sont fermées")
        return 0
    ctx.console.print(f"Nouveau mot de passe de {args.login.strip()} (affiché une seule fois) :")
    ctx.console.print(password, markup=False)
    return 0


def serve(cfg, host: str, port: int, err) -> None:
    """Serve the web interface of ``cfg`` in this process until Ctrl-C (``tracer demo --web``)."""
    import uvicorn

    from tracer.web.app import create_app

    if not 0 < port < 65536:
        fail(f"--port : port entre 1 et 65535 attendu, reçu {port}")
    app = create_app(cfg)
    err.print(f"tracer web : http://{host}:{port}/ (arrêt : Ctrl-C)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
