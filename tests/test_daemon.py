"""``tracer run`` as a real subprocess against Dovecot and an SMTP sink."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from mailfactory import make_mail
from tracer.rules.calendar import WorkingCalendar
from tracer.core.clock import PARIS

UTC = timezone.utc


def tracer(config, *args, check=True):
    result = subprocess.run([sys.executable, "-m", "tracer", "--config", str(config), *args],
                            capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"tracer {' '.join(args)}: {result.returncode}\n{result.stderr}")
    return result


def wait_for(predicate, timeout=30.0, step=0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def received_for_days_left(days_left: int) -> datetime:
    """A reception instant whose 5-working-day deadline is ``days_left`` working days away."""
    cal = WorkingCalendar()
    today = datetime.now(PARIS).date()
    target = cal.add_working_days(today, days_left)
    day = today
    while cal.add_working_days(day, 5) != target:
        day -= timedelta(days=1)
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=PARIS)


@pytest.fixture
def daemon_setup(dovecot, make_config, smtp_server):
    user, _ = dovecot.user("qualite")
    dovecot.server.append(user, "INBOX", make_mail(to=user, message_id="<retard@x.fr>", subject="Demande ancienne"),
                          datetime.now(PARIS) - timedelta(days=20))
    dovecot.server.append(user, "INBOX", make_mail(to=user, message_id="<demain@x.fr>", subject="Demande presque due"),
                          received_for_days_left(1))
    extra = f"""
[smtp]
host = "127.0.0.1"
port = {smtp_server.port}
tls = "none"
timeout = 5

[[service]]
name = "qualite"
label = "Mission qualité"
alert_to = ["referent@haute-savoie.gouv.fr"]

[schedule]
poll_seconds = 1
alerts_seconds = 1
outbox_seconds = 1

[digest]
to = ["referent@haute-savoie.gouv.fr"]
"""
    config = make_config([{"name": "qualite", "address": user, "username": user, "service": "qualite", "timeout": 3}],
                         port=dovecot.port, extra=extra)
    return config, user, dovecot, smtp_server


def start(config):
    return subprocess.Popen([sys.executable, "-m", "tracer", "--config", str(config), "--log-format", "json", "run"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop(proc) -> tuple[int, float, str]:
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        _out, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate()
    return proc.returncode, time.monotonic() - began, err


def test_daemon_polls_alerts_once_survives_restarts_and_a_dead_server(daemon_setup):
    config, user, dovecot, smtp = daemon_setup
    proc = start(config)
    try:
        if not wait_for(lambda: len(json.loads(tracer(config, "cases", "--json").stdout)) == 2, 30):
            proc.kill()
            raise AssertionError("nothing recorded; daemon said:\n" + proc.communicate()[1][-3000:])
        alerts = wait_for(lambda: [m for m in smtp.parsed() if "demande(s) à traiter" in m["Subject"]], 20)
        assert len(alerts) == 1
        body = alerts[0].get_content()
        assert body.index("Demande ancienne") < body.index("Demande presque due")  # most urgent first
        assert "Jours ouvrés de retard" in body and "Jours ouvrés restants" in body and "Échéance" in body

        # new mail is recorded within two poll intervals (IDLE makes it faster)
        dovecot.server.append(user, "INBOX", make_mail(to=user, message_id="<nouveau@x.fr>"), datetime.now(UTC))
        assert wait_for(lambda: len(json.loads(tracer(config, "cases", "--json").stdout)) == 3, 5)

        # Dovecot stops: the daemon reports it and keeps running
        dovecot.server.stop()
        status = wait_for(lambda: (s := json.loads(tracer(config, "status", "--json").stdout)) and not s["mailboxes"][0]["ok"] and s, 15)
        assert status and "connexion" in status["mailboxes"][0]["last_error"]
        assert proc.poll() is None
        dovecot.server.start()
        dovecot.server.append(user, "INBOX", make_mail(to=user, message_id="<apres@x.fr>"), datetime.now(UTC))
        assert wait_for(lambda: len(json.loads(tracer(config, "cases", "--json").stdout)) == 4, 30)
        assert wait_for(lambda: json.loads(tracer(config, "status", "--json").stdout)["mailboxes"][0]["ok"], 10)
    finally:
        if dovecot.server.proc is None:
            dovecot.server.start()  # the server is shared by the other tests
        code, took, err = stop(proc)
    assert code == 0 and took < 10, err[-2000:]
    assert "Traceback" not in err and "mot-de-passe" not in err  # no password in the logs
    assert "Quels documents" not in err and "jeanne.martin" not in err  # nor a message body or an address
    for line in err.splitlines():
        json.loads(line)  # one JSON object per line
    count = len([m for m in smtp.parsed() if "demande(s) à traiter" in m["Subject"]])

    proc = start(config)
    try:
        time.sleep(4)
    finally:
        code, _took, _err = stop(proc)
    assert code == 0
    assert len([m for m in smtp.parsed() if "demande(s) à traiter" in m["Subject"]]) == count  # nothing alerted twice


def test_alerts_dry_run_and_once_per_threshold(daemon_setup):
    config, _user, _dovecot, smtp = daemon_setup
    tracer(config, "poll")
    dry = json.loads(tracer(config, "alerts", "--dry-run", "--json").stdout)
    assert [a["threshold"] for a in dry[0]["alerts"]] == ["overdue", "before:1"]
    assert smtp.messages == []
    tracer(config, "alerts")
    tracer(config, "alerts")
    assert len(smtp.messages) == 1
    assert json.loads(tracer(config, "alerts", "--dry-run", "--json").stdout) == []


def test_digest_figures_equal_stats(daemon_setup):
    config, _user, _dovecot, smtp = daemon_setup
    tracer(config, "poll")
    as_of = datetime.now(PARIS).replace(microsecond=0).isoformat()
    data = json.loads(tracer(config, "digest", "--json", "--as-of", as_of).stdout)
    (section,) = data["services"]
    assert section["open"] == 2 and len(section["overdue"]) == 1 and len(section["due_soon"]) == 1
    figures = json.loads(tracer(config, "stats", "--from", data["quarter"]["from"], "--to", data["quarter"]["to"],
                                "--as-of", as_of, "--by", "service", "--format", "json").stdout)
    (group,) = figures["groups"]
    assert section["quarter"]["rate_on_time"] == group["rate_on_time"] == 0.0
    assert section["quarter"]["received"] == group["received"] == 2
    tracer(config, "digest", "--as-of", as_of)
    (mail,) = smtp.parsed()
    assert mail["Subject"].startswith("[tracer] Bilan hebdomadaire")
    kinds = [part.get_content_type() for part in mail.walk()]
    assert "text/plain" in kinds and "text/html" in kinds and "image/png" in kinds
