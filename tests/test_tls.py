"""TLS: certificates verified by default, an internal CA accepted with ca_file."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from dovecot import CONFIG, PASSWORD, Dovecot, available, free_port
from tracer.core.config import Section
from tracer.mail.mailbox import ImapMailbox, MailboxError


class TlsDovecot(Dovecot):
    """The test Dovecot with implicit TLS (imaps) and a self-signed certificate."""

    def __init__(self):
        super().__init__()
        cert, key = self.base / "cert.pem", self.base / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True)
        self.cert = cert
        conf = CONFIG.format(base=self.base, port=free_port(), password=PASSWORD)
        conf = conf.replace("ssl = no", f"ssl = required\nssl_cert = <{cert}\nssl_key = <{key}")
        conf = conf.replace("  inet_listener imaps {\n    port = 0\n  }", f"  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {self.port}\n  }}")
        conf = conf.replace("  inet_listener imap {\n    address = 127.0.0.1\n", "  inet_listener imap {\n    address = 127.0.0.1\n    port = 0\n    #")
        self.conf.write_text(conf)

    def start(self, timeout: float = 15):
        import socket
        import time

        self.proc = subprocess.Popen(["/usr/sbin/dovecot", "-F", "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(self.log())


@pytest.fixture
def tls_server():
    if not available() or shutil.which("openssl") is None:
        from conftest import require

        require("Dovecot ou openssl absent")
    server = TlsDovecot().start()
    yield server
    server.destroy()


def box(server, **extra):
    values = {"host": "127.0.0.1", "port": server.port, "tls": "ssl", "ca_file": None, "username": "u@x.fr",
              "password": PASSWORD, "timeout": 5, "batch_size": 10}
    values.update(extra)
    return Section(values)


def test_self_signed_certificate_is_refused_by_default(tls_server):
    with pytest.raises(MailboxError) as err:
        ImapMailbox(box(tls_server)).connect()
    assert "certificat TLS refusé" in str(err.value)


def test_internal_ca_is_accepted_with_ca_file(tls_server):
    with ImapMailbox(box(tls_server, ca_file=str(tls_server.cert))) as imap:
        assert imap.select("INBOX").uidvalidity > 0
