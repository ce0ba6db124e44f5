"""SIGTERM stops ``tracer run`` within 10 s (the unit's TimeoutStopSec is 20):
between mails of the outbox, even when the SMTP server hangs, and between
batches of a poll. After SIGTERM no new SMTP session is opened."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta

from sqlmodel import Session, select

from mailfactory import make_mail
from tracer.core.clock import PARIS
from tracer.outgoing import outbox
from tracer.store import db
from tracer.store.models import Outbox


class HangingSmtp:
    """Accepts connections and never says a word (a stalled relay)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections: list[float] = []
        self.open: list[socket.socket] = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(time.monotonic())
            self.open.append(conn)

    def close(self):
        self.closed = True
        for conn in self.open:
            conn.close()
        self.sock.close()


def start(config):
    return subprocess.Popen([sys.executable, "-m", "tracer", "--config", str(config), "run"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def terminate(proc) -> tuple[int, float, str]:
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        _out, err = proc.communicate(timeout=25)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate()
    return proc.returncode, time.monotonic() - began, err


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.1)
    return predicate()


def test_sigterm_against_a_hanging_smtp_server_stops_at_once_and_opens_no_new_session(make_config):
    server = HangingSmtp()
    try:
        config = make_config(extra=f"""
[smtp]
host = "127.0.0.1"
port = {server.port}
tls = "none"
timeout = 60

[schedule]
poll_seconds = 3600
alerts_seconds = 3600
outbox_seconds = 1
""")
        engine = db.open_engine(f"sqlite:///{config.parent / 'tracer.store.db'}")
        now = datetime.now(PARIS) - timedelta(minutes=1)
        with Session(engine) as session:
            for i in range(3):
                outbox.enqueue(session, kind="reply", sender="pref-qualite@haute-savoie.gouv.fr", recipients=[f"c{i}@example.org"],
                               subject=f"RE: demande {i}", text="Bonjour,\n", created_by="agent", now=now)
            session.commit()
        proc = start(config)
        assert wait_for(lambda: server.connections), "the daemon never tried to send"
        time.sleep(0.5)
        at_sigterm = len(server.connections)
        code, took, err = terminate(proc)
        time.sleep(0.5)
        assert code == 0, err
        assert took < 10, f"stopped in {took:.1f} s"
        assert len(server.connections) == at_sigterm == 1  # no new SMTP session after SIGTERM
        assert "Traceback" not in err
        with Session(engine) as session:
            rows = session.execute(select(Outbox).order_by(Outbox.id)).scalars().all()
        assert [r.status for r in rows] == ["pending"] * 3  # nothing was on the wire: still queued, sent next run
        assert "arrêt" in rows[0].last_error
        engine.dispose()
    finally:
        server.close()


def test_sigterm_during_a_long_poll_stops_between_batches_and_the_next_poll_resumes(dovecot, make_config):
    user, _ = dovecot.user("qualite")
    base = datetime.now(PARIS) - timedelta(days=30)
    total = 800
    dovecot.server.append_many(user, "INBOX", [
        (make_mail(to=user, message_id=f"<long-{i}@x.fr>", subject=f"Demande {i}"), base + timedelta(minutes=i)) for i in range(total)
    ])
    config = make_config([{"name": "qualite", "address": user, "username": user, "batch_size": 4, "idle": False}], port=dovecot.port,
                         extra="\n[schedule]\npoll_seconds = 3600\nalerts_seconds = 3600\noutbox_seconds = 3600\n")
    engine = db.open_engine(f"sqlite:///{config.parent / 'tracer.store.db'}")

    def recorded() -> int:
        with engine.connect() as conn:
            return conn.exec_driver_sql("select count(*) from message").scalar()

    proc = start(config)
    assert wait_for(lambda: recorded() >= 8)
    code, took, err = terminate(proc)
    assert code == 0, err
    assert took < 10, f"stopped in {took:.1f} s"
    partial = recorded()
    assert partial < total, "the poll went through the whole mailbox before stopping"
    with engine.connect() as conn:  # the high-water mark is the last committed batch's: nothing lost
        last_uid = conn.exec_driver_sql("select last_uid from folder_state where folder = 'INBOX'").scalar()
        assert last_uid is not None and last_uid <= partial
    done = subprocess.run([sys.executable, "-m", "tracer", "--config", str(config), "poll", "--json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert recorded() == total
    cases = json.loads(subprocess.run([sys.executable, "-m", "tracer", "--config", str(config), "cases", "--json"],
                                      capture_output=True, text=True, timeout=120).stdout)
    assert len({c["reference"] for c in cases}) == total
    engine.dispose()
