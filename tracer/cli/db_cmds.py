"""``db upgrade``: apply the schema migrations (also done automatically)."""

from __future__ import annotations

from tracer.store import db
from tracer.cli.context import fail


def register(sub) -> None:
    p = sub.add_parser("db", help="base de données")
    dbsub = p.add_subparsers(dest="db_command", metavar="ACTION")
    up = dbsub.add_parser("upgrade", help="met le schéma à jour (sans perte de données)")
    up.set_defaults(handler=cmd_upgrade)
    st = dbsub.add_parser("revision", help="affiche la version du schéma")
    st.set_defaults(handler=cmd_revision)


def cmd_upgrade(args, ctx) -> int:
    try:
        engine = db.make_engine(ctx.config.database_url)
        before, after = db.upgrade(engine)
    except Exception as exc:
        fail(f"mise à jour du schéma impossible : {exc.__class__.__name__}")
    if before == after:
        ctx.console.print(f"Schéma déjà à jour (version {after}).")
    else:
        ctx.console.print(f"Schéma mis à jour : {before or 'vide'} → {after}.")
    return 0


def cmd_revision(args, ctx) -> int:
    engine = db.make_engine(ctx.config.database_url)
    ctx.console.print(f"Version du schéma : {db.current_revision(engine) or 'aucune'} (dernière : {db.head_revision(engine)})")
    return 0
