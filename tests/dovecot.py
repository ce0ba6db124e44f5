"""A private Debian Dovecot on a loopback port, for tests and benchmarks.

Runs in the foreground (``dovecot -F``) as a child process with its own
configuration, state and Maildir under a temporary folder. Every user name
logs in with the one test password (static passdb), so a test's fresh user
exists at once.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path

import imapclient

DOVECOT = "/usr/sbin/dovecot"
PASSWORD = "mot-de-passe"  # one password for every test user (static passdb)

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = 1
mail_uid = dovecot
mail_gid = dovecot
mail_location = maildir:{base}/mail/%u/Maildir
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_max_userip_connections = 100
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={base}/mail/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def available() -> bool:
    return os.path.exists(DOVECOT) and os.geteuid() == 0


class Dovecot:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.base = Path(tempfile.mkdtemp(prefix="tracer-dovecot-"))
        os.chmod(self.base, 0o755)
        for sub in ("run", "state", "mail"):
            (self.base / sub).mkdir()
        shutil.chown(self.base / "mail", "dovecot", "dovecot")
        self.conf = self.base / "dovecot.conf"
        self.conf.write_text(CONFIG.format(base=self.base, port=self.port, password=PASSWORD))
        self.proc: subprocess.Popen | None = None
        self.users: dict[str, str] = {}

    # -- lifecycle ------------------------------------------------------------

    def start(self, timeout: float = 15) -> "Dovecot":
        self.proc = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Dovecot exited: {self.proc.stderr.read().decode(errors='replace')}\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    if sock.recv(64).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"Dovecot did not answer on port {self.port}:\n{self.log()}")

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None
        # wait until the port is free again, so a restart can bind it
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    time.sleep(0.05)
            except OSError:
                return

    def restart(self) -> None:
        self.stop()
        self.start()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def log(self) -> str:
        path = self.base / "dovecot.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    # -- users and mail -------------------------------------------------------

    def add_user(self, name: str, password: str = PASSWORD) -> tuple[str, str]:
        """Any user name logs in with PASSWORD (a static passdb: no reload races)."""
        self.users[name] = PASSWORD
        return name, PASSWORD

    def client(self, user: str) -> imapclient.IMAPClient:
        client = imapclient.IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=30)
        client.login(user, self.users[user])
        return client

    def append(self, user: str, folder: str, raw: bytes, internaldate: datetime, flags=()) -> None:
        client = self.client(user)
        try:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            client.append(folder, raw, flags=flags, msg_time=internaldate)
        finally:
            client.logout()

    def append_many(self, user: str, folder: str, items: list[tuple[bytes, datetime]]) -> None:
        client = self.client(user)
        try:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            for raw, when in items:
                client.append(folder, raw, msg_time=when)
        finally:
            client.logout()

    def flags(self, user: str, folder: str) -> dict[int, tuple]:
        client = self.client(user)
        try:
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            return {uid: data[b"FLAGS"] for uid, data in client.fetch(uids, ["FLAGS"]).items()} if uids else {}
        finally:
            client.logout()

    def uidvalidity(self, user: str, folder: str) -> int:
        client = self.client(user)
        try:
            return client.select_folder(folder, readonly=True)[b"UIDVALIDITY"]
        finally:
            client.logout()

    def recreate_folder(self, user: str, folder: str) -> list[tuple[bytes, datetime]]:
        """Delete and recreate a folder with the same messages: a new UIDVALIDITY."""
        client = self.client(user)
        try:
            client.select_folder(folder)
            uids = client.search("ALL")
            data = client.fetch(uids, ["BODY.PEEK[]", "INTERNALDATE"]) if uids else {}
            items = [(d[b"BODY[]"], d[b"INTERNALDATE"]) for _, d in sorted(data.items())]
            client.close_folder()
            if folder.upper() == "INBOX":
                client.select_folder(folder)
                client.delete_messages(list(data))
                client.expunge()
                client.close_folder()
                # INBOX cannot be deleted: rename it away, which gives a fresh INBOX
                client.rename_folder("INBOX", f"old-{time.time_ns()}")
            else:
                client.delete_folder(folder)
                client.create_folder(folder)
            for raw, when in items:
                client.append(folder, raw, msg_time=when)
            return items
        finally:
            client.logout()

    def expunge(self, user: str, folder: str, uids: list[int]) -> None:
        client = self.client(user)
        try:
            client.select_folder(folder)
            client.delete_messages(uids)
            client.expunge()
        finally:
            client.logout()
