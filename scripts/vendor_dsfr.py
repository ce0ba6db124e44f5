"""Vendor the State's design system (DSFR) and htmx into tracer/web/static/.

    python scripts/vendor_dsfr.py

Downloads the pinned packages from the npm registry (``npm pack``, so only
Node's own client talks to the registry), then copies what the pages use:

- ``dsfr/``: ``dsfr.min.css``, ``dsfr.module.min.js``, the icons that CSS
  points to, the fonts (Marianne, Spectral), the favicon, the licence, and
  ``icons.css``: the utility icon classes the templates use (``ICONS``),
  written the way DSFR's own utility CSS writes them;
- ``htmx/``: ``htmx.min.js`` and its licence.

Each folder gets a ``VERSION`` file. Run it again after changing a version
or ``ICONS``, and commit the result: ``pip install`` needs no Node.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

DSFR_VERSION = "1.15.3"
HTMX_VERSION = "2.0.11"

# Utility icons used by tracer/web/templates (class ``fr-icon-NAME``).
ICONS = [
    "account-circle-line", "arrow-go-forward-line", "arrow-left-line", "attachment-line", "check-line",
    "download-line", "edit-line", "file-text-line", "inbox-line", "links-line", "lock-line",
    "logout-box-r-line", "mail-line", "search-line", "send-plane-line", "time-line", "user-line",
]

STATIC = Path(__file__).resolve().parent.parent / "tracer" / "web" / "static"


def npm_pack(spec: str, into: Path) -> Path:
    """The package's files, unpacked under ``into/package``."""
    out = subprocess.run(["npm", "pack", spec, "--silent", "--pack-destination", str(into)],
                         check=True, capture_output=True, text=True, cwd=into)
    tgz = into / out.stdout.strip().splitlines()[-1]
    target = into / tgz.stem
    with tarfile.open(tgz) as tar:
        tar.extractall(target, filter="data")
    return target / "package"


def vendor_dsfr(work: Path) -> None:
    dist = npm_pack(f"@gouvfr/dsfr@{DSFR_VERSION}", work) / "dist"
    dest = STATIC / "dsfr"
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    css = (dist / "dsfr.min.css").read_text(encoding="utf-8")
    for name in ("dsfr.min.css", "dsfr.module.min.js"):
        shutil.copy2(dist / name, dest / name)
    shutil.copytree(dist / "fonts", dest / "fonts")
    shutil.copytree(dist / "favicon", dest / "favicon")
    shutil.copy2(dist.parent / "LICENSE.md", dest / "LICENSE.md")
    for rel in sorted(set(re.findall(r"url\((icons/[^)]+\.svg)\)", css))):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(dist / rel, dest / rel)
    rules = [f"/* DSFR v{DSFR_VERSION} utility icons used by tracer (scripts/vendor_dsfr.py) */"]
    for name in ICONS:
        found = sorted((dist / "icons").glob(f"*/{name}.svg"))
        if not found:
            sys.exit(f"icon {name} not in DSFR {DSFR_VERSION}")
        rel = found[0].relative_to(dist).as_posix()
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(found[0], dest / rel)
        rules.append(f".fr-icon-{name}:after,.fr-icon-{name}:before"
                     f"{{-webkit-mask-image:url({rel});mask-image:url({rel})}}")
    (dest / "icons.css").write_text("\n".join(rules) + "\n", encoding="utf-8")
    (dest / "VERSION").write_text(f"@gouvfr/dsfr {DSFR_VERSION}\n", encoding="utf-8")


def vendor_htmx(work: Path) -> None:
    package = npm_pack(f"htmx.org@{HTMX_VERSION}", work)
    dest = STATIC / "htmx"
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    shutil.copy2(package / "dist" / "htmx.min.js", dest / "htmx.min.js")
    shutil.copy2(package / "LICENSE", dest / "LICENSE")
    (dest / "VERSION").write_text(f"htmx.org {HTMX_VERSION}\n", encoding="utf-8")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        vendor_dsfr(Path(tmp))
        vendor_htmx(Path(tmp))
    print(f"DSFR {DSFR_VERSION} and htmx {HTMX_VERSION} copied into {STATIC}")


if __name__ == "__main__":
    main()
