"""Autogenerate an Alembic revision from tracer/models.py.

    python scripts/new_migration.py "add outbox priority"

Reviews the generated file before committing it: Alembic cannot see renames.
"""

import sys
import tempfile
from pathlib import Path

from alembic import command

from tracer.store import db


def main() -> None:
    message = sys.argv[1] if len(sys.argv) > 1 else "schema change"
    with tempfile.TemporaryDirectory() as tmp:
        engine = db.make_engine(f"sqlite:///{Path(tmp) / 'gen.db'}")
        db.upgrade(engine)
        versions = Path(db.MIGRATIONS) / "versions"
        rev_id = f"{len(list(versions.glob('[0-9]*.py'))) + 1:04d}"
        command.revision(db.alembic_config(engine), message=message, autogenerate=True, rev_id=rev_id)


if __name__ == "__main__":
    main()
