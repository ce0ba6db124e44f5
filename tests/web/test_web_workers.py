"""``tracer web --workers N``: several processes serve the same pages from the same configuration."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx

from conftest import PASSWORD, WebClient
from smtpsink import free_port


def test_tracer_web_with_two_workers_serves_signed_in_pages(web_server):
    port = free_port()
    env = {**os.environ, "TRACER_CONFIG": "/nulle-part/tracer.toml"}  # --config must win over it
    proc = subprocess.Popen([sys.executable, "-m", "tracer", "--config", str(web_server.config_path), "web",
                             "--port", str(port), "--workers", "2"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/connexion", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() else ""
            time.sleep(0.2)
        client = WebClient(url)
        assert client.sign_in("agent.qualite", PASSWORD).status_code == 303
        for _ in range(6):  # whichever process answers, the session (in the database) is the same
            page = client.get("/demandes")
            assert page.status_code == 200 and web_server.refs["qualite_mail"] in page.text
        client.close()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_a_wrong_number_of_workers_is_one_french_line(web_server):
    out = subprocess.run([sys.executable, "-m", "tracer", "--config", str(web_server.config_path), "web",
                          "--workers", "0"], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "--workers : nombre de processus entre 1 et 64 attendu, reçu 0" in out.stderr
    assert "Traceback" not in out.stderr
