"""``tracer run``: the daemon.

APScheduler 3 jobs: one poll job per mailbox (``max_instances=1`` and a
per-mailbox lock: never two polls of one mailbox at once; ``coalesce``: a
late run is merged, not queued), alerts, the weekly digest (cron in the
configured zone, so daylight saving is handled), outbox retries and the
nightly retention purge, then the scorer retrained when agents corrected the
classifier since (tracer.mail.learning). Where the server offers it, one IMAP IDLE thread per
inbox triggers a poll within seconds of a new message; the timed poll stays
as the safety net and polls the Sent folders.

A failing mailbox is logged in French and retried with backoff; it never
stops the others nor the daemon. SIGTERM / SIGINT: a poll stops after the
batch it is writing, the outbox after the mail it is sending (an SMTP session
that hangs is abandoned: the mail stays queued, or "uncertain" if its data
was on the wire), no new SMTP session opens, and the process exits 0 within
a few seconds (the unit allows 20).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from tracer.core import clock
from tracer.core import config as config_mod
from tracer.mail import ingest
from tracer.core import locks, stopping
from tracer.services import Runtime

log = logging.getLogger("tracer.daemon")

IDLE_SLICE_SECONDS = 3  # an IDLE wait is cut in slices so SIGTERM is honoured quickly
DAYS = {"mon": "mon", "tue": "tue", "wed": "wed", "thu": "thu", "fri": "fri", "sat": "sat", "sun": "sun"}


class MailboxHealth:
    """Consecutive failures of one mailbox and when to try again."""

    def __init__(self, poll_seconds: int):
        self.poll_seconds = poll_seconds
        self.failures = 0
        self.retry_at = 0.0

    def ok(self) -> None:
        self.failures = 0
        self.retry_at = 0.0

    def failed(self) -> float:
        self.failures += 1
        cap = min(10 * self.poll_seconds, 900)
        delay = min(self.poll_seconds * 2 ** (self.failures - 1), cap)
        self.retry_at = time.monotonic() + delay
        return delay

    def due(self) -> bool:
        return time.monotonic() >= self.retry_at


class Daemon:
    def __init__(self, cfg: config_mod.Config, engine):
        self.cfg = cfg
        self.engine = engine
        self.rt = Runtime(cfg)
        self.stop_event = threading.Event()
        stopping.reset()
        self.locks = {box.name: threading.Lock() for box in cfg.mailboxes}
        self.wanted = {box.name: threading.Event() for box in cfg.mailboxes}  # new mail announced by IDLE
        self.health = {box.name: MailboxHealth(cfg.schedule.poll_seconds) for box in cfg.mailboxes}
        self.threads: list[threading.Thread] = []
        self.scheduler = BackgroundScheduler(
            timezone=cfg.tz,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": max(30, cfg.schedule.poll_seconds)},
        )

    # -- jobs ---------------------------------------------------------------

    def poll(self, name: str, force: bool = False) -> None:
        """Poll one mailbox. ``force`` (IDLE announced new mail): even while
        backing off, and if a poll of the mailbox is running, it polls again
        once done, since its search may have come before the new message."""
        if self.stop_event.is_set():
            return
        health = self.health[name]
        wanted = self.wanted[name]
        if force:
            wanted.set()
        elif not health.due():
            return
        lock = self.locks[name]
        while not self.stop_event.is_set():
            if not lock.acquire(blocking=False):
                return  # the running poll sees ``wanted`` and polls again
            try:
                mine = self._poll_while_wanted(name, health, wanted)
            finally:
                lock.release()
            # asked for while releasing: nobody else took the lock, poll again
            if not mine or not wanted.is_set():
                return

    def _poll_while_wanted(self, name: str, health: "MailboxHealth", wanted: threading.Event) -> bool:
        """Poll until no new mail was announced during the last poll; False if
        another daemon on the same database is polling the mailbox."""
        try:
            with locks.exclusive(self.engine, f"poll:{name}") as mine:
                if not mine:
                    return False
                while True:
                    wanted.clear()
                    self._poll(name, health)
                    if not wanted.is_set() or self.stop_event.is_set():
                        return True
        except Exception as exc:  # never let one mailbox stop the daemon
            delay = health.failed()
            log.exception("boîte %s : erreur inattendue (%s) ; nouvel essai dans %d s", name, exc.__class__.__name__, delay)
            wanted.clear()
            return True

    def _poll(self, name: str, health: "MailboxHealth") -> None:
        from tracer.mail import glance

        box = self.cfg.mailbox(name)
        # nothing new (STATUS against the folders' marks): no SELECT, no search, no ORM session
        unchanged = {} if box.acknowledge else glance.nothing_new(self.cfg, [name], clock.now)
        reports = unchanged.get(name) or ingest.poll_mailbox(self.engine, self.rt, box, clock.now)
        if box.acknowledge:
            from tracer.outgoing import reply

            reply.acknowledge_new(self.engine, self.rt, clock.now())
        errors = [r for r in reports if r.error]
        recorded = sum(r.summary.recorded for r in reports)
        if errors:
            delay = health.failed()
            log.error(
                "boîte %s : échec de la relève (%s) ; nouvel essai dans %d s",
                name, errors[0].error, delay, extra={"mailbox": name, "event": "poll_failed"},
            )
        else:
            if health.failures:
                log.info("boîte %s : relève rétablie", name, extra={"mailbox": name, "event": "poll_recovered"})
            health.ok()
            if recorded:
                log.info("boîte %s : %d message(s) enregistré(s)", name, recorded,
                         extra={"mailbox": name, "event": "poll", "recorded": recorded})

    def alerts(self) -> None:
        from tracer.outgoing import alerts

        self._step("alertes", lambda: alerts.run(self.engine, self.rt, clock.now(), clock.now()), lock="alerts")

    def digest(self) -> None:
        from tracer.outgoing import digest

        self._step("bilan hebdomadaire", lambda: digest.send_once(self.engine, self.rt, clock.now(), clock.now()), lock="digest")

    def outbox(self) -> None:
        from tracer.outgoing import outbox

        self._step("file d'envoi", lambda: outbox.retry_due(self.engine, self.cfg, clock.now()))

    def purge(self) -> None:
        from tracer.register import retention

        self._step("purge", lambda: retention.purge(self.engine, self.rt, clock.now(), by="tracer"), lock="purge")

    def train(self) -> None:
        """Nightly: retrain the scorer if agents corrected the classifier since, then use it."""

        def run():
            from tracer.mail import learning

            done = learning.train_if_needed(self.engine, self.rt, clock.now())
            if done is not None:
                self.rt.__dict__.pop("rules", None)  # the next poll loads the new model
                log.info("modèle réentraîné avec %d correction(s) : %s", done["corrections"], done["path"],
                         extra={"event": "model_trained", "corrections": done["corrections"]})

        self._step("entraînement du modèle", run, lock="train")

    def _step(self, label: str, func, lock: str | None = None) -> None:
        if self.stop_event.is_set():
            return
        try:
            if lock is None:
                func()
                return
            with locks.exclusive(self.engine, lock) as mine:
                if mine:
                    func()
        except Exception as exc:
            log.exception("%s : erreur (%s)", label, exc.__class__.__name__)

    # -- IMAP IDLE ----------------------------------------------------------

    def idle_loop(self, box) -> None:
        from tracer.mail.mailbox import ImapMailbox, MailboxError

        while not self.stop_event.is_set():
            try:
                with ImapMailbox(box) as imap:
                    imap.select(box.inbox)
                    if not imap.has_idle():
                        log.info("boîte %s : IDLE non proposé, relève périodique seule", box.name)
                        return
                    self._idle_session(box, imap)
            except MailboxError:
                # the timed poll reports the error and backs off; IDLE waits for it to recover
                self.stop_event.wait(max(5, self.cfg.schedule.poll_seconds))
            except Exception as exc:
                log.warning("boîte %s : IDLE interrompu (%s)", box.name, exc.__class__.__name__)
                self.stop_event.wait(max(5, self.cfg.schedule.poll_seconds))

    def _idle_session(self, box, imap) -> None:
        """IDLE in slices on one connection (renewed every 25 minutes).

        Before every slice, the inbox's UIDNEXT (STATUS) is compared with what
        the register recorded: a message delivered before IDLE began, or whose
        announcement the server folded into another response, is polled for
        at once instead of waiting for the timed poll. The register is read
        only when UIDNEXT moved.
        """
        started = time.monotonic()
        checked = None  # the (UIDVALIDITY, UIDNEXT) last compared with the register
        while not self.stop_event.is_set() and time.monotonic() - started < 25 * 60:
            info = imap.status(box.inbox)
            if info is not None and (info.uidvalidity, info.uidnext) != checked:
                checked = (info.uidvalidity, info.uidnext)
                if ingest.unrecorded(self.engine, box.name, box.inbox, info.uidvalidity, info.uidnext):
                    self.poll(box.name, force=True)
                    continue  # compare again: the poll may have missed what came meanwhile
            if imap.idle_wait(IDLE_SLICE_SECONDS):
                self.poll(box.name, force=True)

    # -- lifecycle ----------------------------------------------------------

    def schedule(self) -> None:
        s = self.cfg.schedule
        now = datetime.now(self.cfg.tz)
        for box in self.cfg.mailboxes:
            self.scheduler.add_job(
                self.poll, IntervalTrigger(seconds=s.poll_seconds), args=[box.name], id=f"poll:{box.name}",
                name=f"relève {box.name}", next_run_time=now,
            )
        self.scheduler.add_job(self.alerts, IntervalTrigger(seconds=s.alerts_seconds), id="alerts", name="alertes",
                               next_run_time=now + timedelta(seconds=min(5, s.alerts_seconds)))
        day, hour, minute = config_mod.parse_weekly(s.digest)
        self.scheduler.add_job(self.digest, CronTrigger(day_of_week=DAYS[day], hour=hour, minute=minute, timezone=self.cfg.tz),
                               id="digest", name="bilan hebdomadaire")
        self.scheduler.add_job(self.outbox, IntervalTrigger(seconds=s.outbox_seconds), id="outbox", name="file d'envoi")
        hour, minute = config_mod.parse_hhmm(s.purge)
        self.scheduler.add_job(self.purge, CronTrigger(hour=hour, minute=minute, timezone=self.cfg.tz), id="purge", name="purge")
        # after the purge: a purged message no longer teaches anything
        hour, minute = divmod(hour * 60 + minute + 30, 60)
        self.scheduler.add_job(self.train, CronTrigger(hour=hour % 24, minute=minute, timezone=self.cfg.tz), id="train",
                               name="entraînement du modèle")

    def stop(self) -> None:
        """Between batches and between mails, every step sees it (tracer.core.stopping)."""
        stopping.request()
        self.stop_event.set()

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):  # first: a SIGTERM during start-up stops cleanly too
            signal.signal(sig, lambda *_: self.stop())
        self.rt.check_once()  # checked by tracer run already: compiled when the first message needs them
        self.schedule()
        self.scheduler.start()
        log.info("démon démarré : %d boîte(s), relève toutes les %d s", len(self.cfg.mailboxes), self.cfg.schedule.poll_seconds,
                 extra={"event": "started"})
        for box in self.cfg.mailboxes:
            if box.idle:
                thread = threading.Thread(target=self.idle_loop, args=(box,), name=f"idle:{box.name}", daemon=True)
                thread.start()
                self.threads.append(thread)
        while not self.stop_event.wait(1):
            pass
        log.info("arrêt demandé : fin du lot ou de l'envoi en cours", extra={"event": "stopping"})
        self.scheduler.shutdown(wait=True)
        for thread in self.threads:
            thread.join(timeout=IDLE_SLICE_SECONDS + 2)
        log.info("démon arrêté", extra={"event": "stopped"})
        return 0
