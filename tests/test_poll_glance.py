"""``tracer poll`` with nothing new: a STATUS glance, no database layer, same outcome.

A mailbox whose folders' UIDVALIDITY and UIDNEXT match what was recorded is
marked polled through ``sqlite3`` alone (tracer.mail.glance, tracer.store.lite);
anything else takes the full poll, which records and reports as always.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone

from mailfactory import make_mail
from tracer.core.paths import default_rules_dir
from tracer.store import db, lite

UTC = timezone.utc

# tracer poll in a subprocess, then which heavy modules it had loaded
PROBE = """
import json, sys
from tracer.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
loaded = sorted(m for m in ("sqlalchemy", "sqlmodel", "tracer.store.models", "tracer.rules.classify") if m in sys.modules)
sys.stderr.write("LOADED " + json.dumps(loaded) + "\\n")
sys.exit(code)
"""


def poll(config, *args):
    result = subprocess.run([sys.executable, "-c", PROBE, "--config", str(config), "poll", "--json", *args],
                            capture_output=True, text=True, timeout=120, env=os.environ)
    loaded = json.loads(result.stderr.rsplit("LOADED ", 1)[1])
    return result, (json.loads(result.stdout) if result.stdout.strip() else None), loaded


def marks(config) -> dict[str, tuple]:
    from sqlmodel import Session, select

    from tracer.store.models import FolderState

    engine = db.open_engine(f"sqlite:///{config.parent / 'tracer.store.db'}")
    with Session(engine) as session:
        found = {s.folder: (s.last_uid, s.last_success_at, s.last_error) for s in session.exec(select(FolderState))}
    engine.dispose()
    return found


def test_a_poll_with_nothing_new_loads_no_database_layer_and_marks_the_folders_polled(dovecot, make_config):
    user, _ = dovecot.user("glance")
    for i in range(2):
        dovecot.server.append(user, "INBOX", make_mail(to=user, message_id=f"<avant-{i}@x.fr>"), datetime.now(UTC))
    config = make_config([{"name": "qualite", "address": user, "username": user}], port=dovecot.port)
    first, data, loaded = poll(config)
    assert first.returncode == 0 and data["recorded"] == 2 and "sqlalchemy" in loaded
    before = marks(config)

    again, data, loaded = poll(config)
    assert again.returncode == 0, again.stderr
    assert loaded == []  # neither SQLAlchemy, the models nor the rules
    assert data == {"recorded": 0, "duplicates": 0, "quarantined": 0, "errors": [], "folders": [
        {"mailbox": "qualite", "folder": "INBOX", "role": "inbox", "recorded": 0, "duplicates": 0, "quarantined": 0, "error": None},
        {"mailbox": "qualite", "folder": "Sent", "role": "sent", "recorded": 0, "duplicates": 0, "quarantined": 0, "error": None},
    ]}
    after = marks(config)
    for folder in ("INBOX", "Sent"):
        assert after[folder][0] == before[folder][0]
        assert after[folder][1] > before[folder][1]  # the successful poll is recorded (tracer status shows it)
        assert after[folder][1].tzinfo is not None  # read back as the ORM writes it: aware UTC

    # new mail: the glance leaves it to the full poll
    dovecot.server.append(user, "INBOX", make_mail(to=user, message_id="<apres@x.fr>"), datetime.now(UTC))
    third, data, loaded = poll(config)
    assert third.returncode == 0 and data["recorded"] == 1 and "sqlalchemy" in loaded
    assert poll(config)[2] == []
    # a new UIDVALIDITY: the full poll reads the folder again
    dovecot.server.recreate_folder(user, "Sent")
    fourth, data, loaded = poll(config)
    assert fourth.returncode == 0 and data["recorded"] == 0 and "sqlalchemy" in loaded
    assert poll(config)[2] == []


def test_a_folder_that_failed_is_polled_in_full_and_still_reported(dovecot, make_config):
    user, _ = dovecot.user("glance")
    config = make_config([{"name": "qualite", "address": user, "username": user, "sent": "Introuvable"}], port=dovecot.port)
    for _ in range(2):
        result, data, loaded = poll(config)
        assert result.returncode == 1 and "Introuvable" in data["errors"][0] and "sqlalchemy" in loaded
    assert marks(config)["Introuvable"][2]


def test_rules_changed_since_their_last_check_are_checked_again(dovecot, make_config, tmp_path):
    user, _ = dovecot.user("glance")
    rules = tmp_path / "regles"
    shutil.copytree(default_rules_dir(), rules)
    config = make_config([{"name": "qualite", "address": user, "username": user}], port=dovecot.port, rules_dir=str(rules))
    assert poll(config)[0].returncode == 0
    assert poll(config)[2] == []  # checked once: not compiled again
    victim = sorted(p for p in rules.glob("*.toml") if p.name != "deadlines.toml" and "[[rule]]" in p.read_text())[0]
    victim.write_text(victim.read_text(encoding="utf-8") + '\n[[rule]]\nid = "cassee"\ncategory = "information"\n'
                      'any = [{ field = "subject", regex = "(" }]\n', encoding="utf-8")
    result, _data, _loaded = poll(config)
    assert result.returncode == 2 and "règles :" in result.stderr and "Traceback" not in result.stderr


def test_the_newest_migration_file_is_the_schema_head():
    assert lite.newest_revision() == db.SCHEMA_HEAD
