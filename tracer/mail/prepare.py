"""Parsing and classification of incoming mail, apart from the database.

``prepare`` turns raw bytes into a parsed message already classified for its
mailbox, or the French reason to quarantine it, with the bytes' hash and, when
asked, their compressed form for storage. It needs no database, so a large
backlog is prepared in a worker process (:class:`Preparer`) while the main
process writes the previous batch: on a machine with two cores a poll then
costs about the larger of the two, not their sum.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import threading
import zlib
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from tracer.mail.parse import ParsedMessage, ParseError, parse

log = logging.getLogger("tracer.mail.prepare")


@dataclass
class Prepared:
    parsed: ParsedMessage | None
    error: str | None = None  # the quarantine reason when it could not be parsed
    digest: str = ""  # sha256 of the raw bytes
    compressed: bytes | None = None  # the raw bytes as stored (compress_raw)


def compress_raw(raw: bytes) -> bytes:
    """The raw message as a zlib stream (``zlib.decompress`` reads it back).

    The window and the compressor's memory are sized to the message: for a
    typical message of a few kilobytes, setting up zlib's default 256 KB state
    cost more than compressing. Messages with attachments use level 1, faster
    for a few per cent more space (their base64 compresses little anyway).
    """
    bits = max(9, min(15, len(raw).bit_length() + 1))
    level = 6 if len(raw) < 64 * 1024 else 1
    compressor = zlib.compressobj(level, zlib.DEFLATED, bits, min(8, bits - 7))
    return compressor.compress(raw) + compressor.flush()


def prepare(raw: bytes, rules, mailbox_name: str | None, mailbox_address: str | None, compress: bool = False) -> Prepared:
    """Parse, then classify (the decision stays with the message, see
    RuleSet.classify); with ``compress``, also the bytes to store."""
    compressed = compress_raw(raw) if compress else None
    try:
        parsed = parse(raw)
    except ParseError as exc:
        return Prepared(None, str(exc), hashlib.sha256(raw).hexdigest(), compressed)
    except Exception as exc:  # the parser's own bug must not stop a poll
        return Prepared(None, f"erreur d'analyse inattendue ({exc.__class__.__name__})", hashlib.sha256(raw).hexdigest(), compressed)
    if rules is not None:
        rules.classify(parsed, mailbox_name=mailbox_name, mailbox_address=mailbox_address, trace=False)
    return Prepared(parsed, None, parsed.sha256, compressed)


# --------------------------------------------------------------------------
# The worker process.

_worker_rules = None


def _start_worker(rules_dir: str, data_dir: str | None = None) -> None:
    global _worker_rules
    from tracer.rules.classify import load_rules

    parent = multiprocessing.parent_process()
    if parent is not None:  # a killed tracer (SIGKILL) leaves no worker behind
        threading.Thread(target=_exit_with, args=(parent.sentinel,), name="parent-watch", daemon=True).start()
    _worker_rules = load_rules(Path(rules_dir), Path(data_dir) if data_dir else None)


def _exit_with(sentinel: int) -> None:
    """Wait for the parent's end, then end this worker at once.

    A pool's worker otherwise waits forever for work from a parent that was
    killed, and keeps the forkserver and the resource tracker alive with it.
    """
    multiprocessing.connection.wait([sentinel])
    os._exit(0)


def _prepare_batch(raws: list[bytes], mailbox_name: str | None, mailbox_address: str | None) -> list[Prepared]:
    return [_lighter(prepare(raw, _worker_rules, mailbox_name, mailbox_address, compress=True)) for raw in raws]


def _lighter(prepared: Prepared) -> Prepared:
    """What the writer needs, without what only an explanation or a re-parse
    would (the rules' trace, decoded header copies, the HTML body): unpickling
    those cost the writer more than the parse saved."""
    parsed = prepared.parsed
    if parsed is not None:
        for decision in parsed.__dict__.get("_decisions", {}).values():
            decision.trace, decision.traced = [], False
            decision.features = decision.topic_features = None
        parsed.__dict__.pop("_decoded", None)
        parsed.body_html = None
    return prepared


class Preparer:
    """One worker process preparing batches ahead of the writer.

    Started with ``forkserver`` (never a plain fork of a process that has
    threads and open connections); its workers import only the parser and the
    rules. If the worker dies, batches are prepared in this process instead:
    slower, never lost.
    """

    def __init__(self, rules_dir: Path, data_dir: Path | None = None):
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["tracer.mail.prepare"])
        self._pool: ProcessPoolExecutor | None = ProcessPoolExecutor(
            max_workers=1, mp_context=context, initializer=_start_worker, initargs=(str(rules_dir), str(data_dir) if data_dir else None)
        )

    def submit(self, raws: list[bytes], mailbox_name: str | None, mailbox_address: str | None) -> Future | None:
        """The batch's preparation under way, or None (then prepare in process)."""
        if self._pool is None:
            return None
        try:
            return self._pool.submit(_prepare_batch, raws, mailbox_name, mailbox_address)
        except (BrokenProcessPool, RuntimeError, OSError) as exc:
            self._broken(exc)
            return None

    def result(self, future: Future | None) -> list[Prepared] | None:
        """The batch prepared by the worker, or None: then it is prepared in this
        process (where an error of the rules, if that is what failed, shows as
        it would have without a worker)."""
        if future is None:
            return None
        try:
            return future.result()
        except (BrokenProcessPool, OSError, EOFError) as exc:
            self._broken(exc)
            return None
        except Exception as exc:  # raised in the worker while preparing this batch
            log.warning("lot non préparé par le processus d'analyse (%s) : analyse dans le processus principal",
                        exc.__class__.__name__)
            return None

    def _broken(self, exc: BaseException) -> None:
        log.warning("processus d'analyse indisponible (%s) : analyse dans le processus principal", exc.__class__.__name__)
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
