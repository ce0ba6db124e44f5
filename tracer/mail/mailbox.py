"""The IMAP adapter: ``(uid, internaldate, raw)`` out, ``append`` in.

Knows nothing of requests or the database. Folders are selected read-only
and bodies fetched with ``BODY.PEEK[]``, so polling never changes a flag;
the only write is :meth:`ImapMailbox.append` (copies of the replies tracer
sends, into the Sent folder).
"""

from __future__ import annotations

import imaplib
import queue
import socket
import ssl
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterator

import imapclient
from imapclient.exceptions import IMAPClientError, LoginError


# A fetch batch holds at most this many bytes of mail (a message larger than
# that is fetched alone): memory stays bounded whatever the mailbox holds.
BATCH_BYTES = 16 * 1024 * 1024
# UIDs named per RFC822.SIZE command: at most 11 KB of command line (a fetch
# batch names at most batch_size UIDs).
SIZE_CHUNK = 1000


class MailboxError(Exception):
    """An IMAP failure explained in French (never with the password)."""

    def __init__(self, message: str, folder_only: bool = False):
        super().__init__(message)
        self.folder_only = folder_only


@dataclass
class FolderInfo:
    uidvalidity: int
    uidnext: int | None
    exists: int


@dataclass
class Fetched:
    uid: int
    internaldate: datetime  # aware, UTC
    raw: bytes


class ImapMailbox:
    def __init__(self, box):
        self.box = box
        self.client: imapclient.IMAPClient | None = None
        self.where = f"{box.host}:{box.port}"

    # -- connection ---------------------------------------------------------

    def __enter__(self) -> "ImapMailbox":
        self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _ssl_context(self) -> ssl.SSLContext:
        try:
            return ssl.create_default_context(cafile=getattr(self.box, "ca_file", None) or None)
        except (OSError, ssl.SSLError) as exc:
            raise MailboxError(f"autorité de certification illisible ({self.box.ca_file}) : {exc.__class__.__name__}") from None

    def connect(self) -> None:
        box = self.box
        use_ssl = box.tls == "ssl"
        try:
            client = imapclient.IMAPClient(
                box.host,
                port=box.port,
                ssl=use_ssl,
                ssl_context=self._ssl_context() if box.tls != "none" else None,
                timeout=box.timeout,
                use_uid=True,
            )
            client.normalise_times = False
            if box.tls == "starttls":
                client.starttls(self._ssl_context())
        except ConnectionRefusedError:
            raise MailboxError(f"connexion refusée par {self.where}") from None
        except socket.timeout:
            raise MailboxError(f"délai de connexion dépassé ({self.where})") from None
        except ssl.SSLCertVerificationError as exc:
            raise MailboxError(f"certificat TLS refusé pour {self.where} ({exc.verify_message})") from None
        except ssl.SSLError as exc:
            raise MailboxError(f"échec de la négociation TLS avec {self.where} ({exc.reason})") from None
        except socket.gaierror:
            raise MailboxError(f"serveur IMAP introuvable : {box.host}") from None
        except (OSError, IMAPClientError) as exc:
            raise MailboxError(f"connexion impossible à {self.where} ({exc.__class__.__name__})") from None
        try:
            client.login(box.username, box.password or "")
        except LoginError:
            self._drop(client)
            raise MailboxError(f"identifiant ou mot de passe refusé pour {box.username} ({self.where})") from None
        except (OSError, IMAPClientError) as exc:
            self._drop(client)
            raise MailboxError(f"authentification impossible sur {self.where} ({exc.__class__.__name__})") from None
        self.client = client

    @staticmethod
    def _drop(client) -> None:
        try:
            client.shutdown()
        except Exception:
            pass

    def close(self) -> None:
        if self.client is None:
            return
        try:
            self.client.logout()
        except Exception:
            self._drop(self.client)
        self.client = None

    def _call(self, what: str, func, *args, folder_only: bool = False, **kwargs):
        try:
            return func(*args, **kwargs)
        except socket.timeout:
            raise MailboxError(f"délai dépassé pendant {what} ({self.where})") from None
        except (OSError, imaplib.IMAP4.abort) as exc:
            raise MailboxError(f"connexion perdue pendant {what} ({self.where}, {exc.__class__.__name__})") from None
        except IMAPClientError as exc:
            raise MailboxError(f"{what} refusé par le serveur ({self.where}) : {str(exc)[:200]}", folder_only=folder_only) from None

    # -- reading ------------------------------------------------------------

    def select(self, folder: str) -> FolderInfo:
        info = self._call(f"l'ouverture du dossier {folder}", self.client.select_folder, folder, readonly=True, folder_only=True)
        return FolderInfo(
            uidvalidity=int(info.get(b"UIDVALIDITY", 0)),
            uidnext=int(info[b"UIDNEXT"]) if b"UIDNEXT" in info else None,
            exists=int(info.get(b"EXISTS", 0)),
        )

    def new_uids(self, after_uid: int) -> list[int]:
        """UIDs above ``after_uid`` (``N:*`` also returns the highest UID: filtered)."""
        uids = self._call("la recherche des nouveaux messages", self.client.search, ["UID", f"{after_uid + 1}:*"])
        return sorted(uid for uid in uids if uid > after_uid)

    @property
    def batch_size(self) -> int:
        return max(1, min(SIZE_CHUNK, getattr(self.box, "batch_size", 200)))  # a command names at most SIZE_CHUNK UIDs

    def fetch(self, uids: list[int]) -> Iterator[Fetched]:
        size = self.batch_size
        for start in range(0, len(uids), size):
            yield from self._fetch_batch(uids[start : start + size])

    def _fetch_batch(self, uids: list[int]) -> list[Fetched]:
        data = self._call("la lecture des messages", self.client.fetch, uids, ["BODY.PEEK[]", "INTERNALDATE"])
        out, nil = [], {}
        for uid in uids:
            item = data.pop(uid, None)
            if item is None:
                continue  # expunged between SEARCH and FETCH
            body = item.get(b"BODY[]")
            if body is None:  # NIL: expunged meanwhile (Dovecot), or a body the server cannot give
                nil[uid] = item
                continue
            out.append(Fetched(uid, _utc(item.get(b"INTERNALDATE")), body))
        if nil:
            # A message still there with a NIL body, like a zero-byte one, is
            # a message: it goes to quarantine (skipped, the high-water mark
            # would move past it unseen).
            present = set(self._call("la recherche des nouveaux messages", self.client.search, ["UID", ",".join(map(str, nil))]))
            out += [Fetched(uid, _utc(item.get(b"INTERNALDATE")), b"") for uid, item in nil.items() if uid in present]
            out.sort(key=lambda fetched: fetched.uid)
        return out

    def sizes(self, uids: list[int]) -> dict[int, int]:
        """RFC822.SIZE of each UID (an expunged UID is absent).

        Asked :data:`SIZE_CHUNK` UIDs per command: naming every UID of a large
        mailbox in one command is refused by the server (Dovecot: « Too long
        argument » past about 13,000 UIDs).
        """
        out: dict[int, int] = {}
        for start in range(0, len(uids), SIZE_CHUNK):
            data = self._call("la lecture des tailles", self.client.fetch, uids[start : start + SIZE_CHUNK], ["RFC822.SIZE"])
            out.update({uid: int(item.get(b"RFC822.SIZE") or 0) for uid, item in data.items()})
        return out

    def batches(self, uids: list[int]) -> list[list[int]]:
        """``uids`` cut into fetch batches of at most ``batch_size`` messages and
        :data:`BATCH_BYTES` bytes."""
        return plan_batches(uids, self.sizes(uids), self.batch_size, BATCH_BYTES)

    def fetch_batches(self, batches: list[list[int]]) -> Iterator[tuple[list[int], list[Fetched]]]:
        """Each batch with its messages; the next batch is read from the server
        while the caller records this one (at most two batches in memory).

        Only the reading thread uses the connection until the generator ends,
        so the caller must not call other methods in between.
        """
        if len(batches) < 2:
            for batch in batches:
                yield batch, self._fetch_batch(batch)
            return
        handoff: queue.Queue = queue.Queue(maxsize=1)
        stop = threading.Event()

        def read() -> None:
            for batch in batches:
                if stop.is_set():
                    return
                try:
                    handoff.put((batch, self._fetch_batch(batch), None))
                except BaseException as exc:  # handed to the caller, raised there
                    handoff.put((batch, None, exc))
                    return
                handoff.join()  # the caller has taken it: read the next one

        reader = threading.Thread(target=read, name=f"imap-{self.where}", daemon=True)
        reader.start()
        try:
            for _ in batches:
                batch, fetched, error = handoff.get()
                handoff.task_done()
                if error is not None:
                    raise error
                yield batch, fetched
        finally:
            stop.set()
            while reader.is_alive():  # release a reader waiting on the handoff
                try:
                    handoff.get(timeout=0.05)
                    handoff.task_done()
                except queue.Empty:
                    pass
            reader.join()

    # -- writing and waiting --------------------------------------------------

    def append(self, folder: str, raw: bytes, flags=(b"\\Seen",), msg_time: datetime | None = None) -> None:
        self._call(f"l'ajout au dossier {folder}", self.client.append, folder, raw, flags=flags, msg_time=msg_time)

    def has_idle(self) -> bool:
        return self.client.has_capability("IDLE")

    def idle_wait(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` in IDLE; True if the server announced new mail.

        An announcement may come with the answer to ``DONE`` (Dovecot sends
        what it noticed while ending the IDLE): it counts as well.
        """
        self._call("IDLE", self.client.idle)
        try:
            responses = self._call("IDLE", self.client.idle_check, timeout=timeout_s)
        finally:
            _text, ending = self._call("IDLE", self.client.idle_done)
        return any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in [*responses, *ending])

    def status(self, folder: str) -> FolderInfo | None:
        """UIDVALIDITY, UIDNEXT and MESSAGES of ``folder`` without selecting it
        (None when the server refuses STATUS on the selected folder)."""
        try:
            info = self.client.folder_status(folder, [b"UIDVALIDITY", b"UIDNEXT", b"MESSAGES"])
        except IMAPClientError:
            return None
        except socket.timeout:
            raise MailboxError(f"délai dépassé pendant l'état du dossier {folder} ({self.where})") from None
        except (OSError, imaplib.IMAP4.abort) as exc:
            raise MailboxError(f"connexion perdue pendant l'état du dossier {folder} ({self.where}, {exc.__class__.__name__})") from None
        if b"UIDNEXT" not in info:
            return None
        return FolderInfo(uidvalidity=int(info.get(b"UIDVALIDITY", 0)), uidnext=int(info[b"UIDNEXT"]),
                          exists=int(info.get(b"MESSAGES", 0)))


def plan_batches(uids: list[int], sizes: dict[int, int], max_count: int, max_bytes: int) -> list[list[int]]:
    """Consecutive groups of ``uids`` of at most ``max_count`` messages and
    ``max_bytes`` bytes (a larger message makes a group of its own)."""
    batches: list[list[int]] = []
    current: list[int] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if current and (len(current) >= max_count or total + size > max_bytes):
            batches.append(current)
            current, total = [], 0
        current.append(uid)
        total += size
    if current:
        batches.append(current)
    return batches


def _utc(value) -> datetime:
    if not isinstance(value, datetime):
        return datetime.now(timezone.utc)
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
