"""``tracer demo --web``: the demo data in the web interface, with the demo accounts it prints."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import httpx

from smtpsink import free_port


def test_demo_web_serves_the_demo_with_the_printed_accounts(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tracer", "demo", "--data-dir", str(tmp_path / "demo"), "--web",
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output = ""
        deadline = time.monotonic() + 120
        while "tracer web :" not in output and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            output += line
        login, password = re.search(r"identifiant (agent\.demo) \(agent\), mot de passe (\S+)", output).groups()
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}")
        for _ in range(100):  # the line is printed just before uvicorn listens
            try:
                form = client.get("/connexion")
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        signed = client.post("/connexion", data={"identifiant": login, "mot_de_passe": password, "csrf_token": token})
        assert signed.status_code == 303
        page = client.get("/demandes", params={"onglet": "toutes"})
        assert page.status_code == 200 and int(re.search(r"Toutes \((\d+)\)", page.text).group(1)) > 20
    finally:
        proc.terminate()
        proc.wait(20)
        proc.stdout.close()
