"""The process-wide stop request (SIGTERM / SIGINT of the daemon).

Long steps look at it between units of work: the poll between batches, the
outbox between mails and while an SMTP session waits on a server. Once it is
set, no new SMTP session is opened and no new batch is fetched; what was
committed stays committed, what was not is picked up by the next run.
Commands other than the daemon never set it.
"""

from __future__ import annotations

import threading

_STOP = threading.Event()


def request() -> None:
    _STOP.set()


def requested() -> bool:
    return _STOP.is_set()


def reset() -> None:
    _STOP.clear()


def wait(seconds: float) -> bool:
    """Sleep up to ``seconds``; True as soon as a stop is requested."""
    return _STOP.wait(seconds)
