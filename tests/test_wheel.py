"""The wheel works without the checkout: rules, templates and demo mail are inside it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_wheel_installed_in_a_fresh_venv_runs_the_demo(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT)], check=True,
                   capture_output=True)
    wheel = next(dist.glob("tracer-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    subprocess.run([str(env_dir / "bin" / "pip"), "install", "-q", str(wheel)], check=True, capture_output=True)
    work = tmp_path / "elsewhere"  # not the checkout: nothing may be read from it
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TRACER_CONFIG")}
    env |= {"HOME": str(work), "XDG_DATA_HOME": str(work / "data"), "COLUMNS": "120"}
    run = subprocess.run([str(env_dir / "bin" / "tracer"), "demo"], cwd=work, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    recorded = re.search(r"(\d+) message\(s\) enregistré\(s\), 0 en quarantaine", run.stdout)
    assert recorded and int(recorded.group(1)) > 20, run.stdout[:500]
    assert str(ROOT) not in run.stdout + run.stderr
    listed = subprocess.run([str(env_dir / "bin" / "python"), "-c",
                             "from tracer.core import paths; print(paths.default_rules_dir()); print(paths.default_templates_dir())"],
                            cwd=work, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert all("site-packages" in p for p in listed), listed


def test_the_wheel_holds_the_web_templates_and_the_vendored_dsfr_and_htmx(tmp_path):
    import zipfile

    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)], check=True,
                   capture_output=True)
    names = set(zipfile.ZipFile(next(tmp_path.glob("tracer-*.whl"))).namelist())
    for name in ("tracer/web/templates/base.html", "tracer/web/static/dsfr/dsfr.min.css",
                 "tracer/web/static/dsfr/dsfr.module.min.js", "tracer/web/static/dsfr/icons.css",
                 "tracer/web/static/dsfr/fonts/Marianne-Regular.woff2", "tracer/web/static/dsfr/VERSION",
                 "tracer/web/static/htmx/htmx.min.js", "tracer/web/static/htmx/VERSION"):
        assert name in names, name
