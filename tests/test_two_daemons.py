"""Two daemons on one PostgreSQL database: one poller per mailbox, nothing sent twice."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta

import pytest

from mailfactory import make_mail
from tracer.core.clock import PARIS

pytestmark = pytest.mark.postgres


def tracer(config, *args):
    return subprocess.run([sys.executable, "-m", "tracer", "--config", str(config), *args], capture_output=True, text=True, timeout=60)


def test_two_daemons_share_the_work_and_one_takes_over(dovecot, make_config, smtp_server, pg_url, tmp_path):
    user, _ = dovecot.user("qualite")
    for i in range(30):
        dovecot.server.append(user, "INBOX", make_mail(to=user, message_id=f"<deux-{i}@x.fr>", subject=f"Demande {i}"),
                              datetime.now(PARIS) - timedelta(days=20, minutes=i))
    extra = f"""
[smtp]
host = "127.0.0.1"
port = {smtp_server.port}
tls = "none"

[[service]]
name = "qualite"
alert_to = ["referent@haute-savoie.gouv.fr"]

[schedule]
poll_seconds = 1
alerts_seconds = 1
outbox_seconds = 1
"""
    config = make_config([{"name": "qualite", "address": user, "username": user, "service": "qualite"}], port=dovecot.port, extra=extra)
    text = config.read_text().replace(f'database_url = "sqlite:///{tmp_path / "tracer.store.db"}"', f'database_url = "{pg_url}"')
    config.write_text(text)
    procs = [subprocess.Popen([sys.executable, "-m", "tracer", "--config", str(config), "run"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            cases = json.loads(tracer(config, "cases", "--json").stdout or "[]")
            if len(cases) == 30 and smtp_server.messages:
                break
            time.sleep(0.5)
        time.sleep(3)  # both daemons keep ticking: nothing may be alerted twice
        cases = json.loads(tracer(config, "cases", "--json").stdout)
        assert len(cases) == 30 and len({c["reference"] for c in cases}) == 30, config.read_text()
        assert len(smtp_server.messages) == 1
        # the first daemon dies: the other polls the mailbox
        procs[0].kill()
        procs[0].wait()
        dovecot.server.append(user, "INBOX", make_mail(to=user, message_id="<apres-la-mort@x.fr>"), datetime.now(PARIS))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(json.loads(tracer(config, "cases", "--json").stdout)) < 31:
            time.sleep(0.5)
        assert len(json.loads(tracer(config, "cases", "--json").stdout)) == 31
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=20)
