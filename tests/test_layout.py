"""The package's layers (docs/ARCHITECTURE.md): every import goes down, never up.

core < store, rules < register, services < mail, reports < outgoing < daemon, demo < cli, web.
Imports inside functions count too: a lazy import that climbs is still a tangle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "tracer"

LEVEL = {
    "core": 0,
    "store": 1, "rules": 1,
    "register": 2, "services": 2,
    "mail": 3, "reports": 3,
    "outgoing": 4,
    "daemon": 5, "demo": 5,
    "cli": 6, "web": 6, "entry": 7, "__main__": 7,
}
# Same level, one direction only (the other would be a cycle).
SIDEWAYS = {("services", "rules"), ("register", "rules"), ("cli", "web")}  # `tracer web` serves the app


def _stage(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "tracer":
                for alias in node.names:
                    yield node.lineno, alias.name
            elif node.module.startswith("tracer."):
                yield node.lineno, node.module.split(".")[1]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("tracer."):
                    yield node.lineno, alias.name.split(".")[1]


def test_every_module_belongs_to_a_known_stage():
    stages = {_stage(p) for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts}
    assert stages - {"__init__"} <= set(LEVEL), stages - set(LEVEL)


def test_imports_only_go_down():
    climbing = []
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts or path.name == "__init__.py" and path.parent == PACKAGE:
            continue
        src = _stage(path)
        for line, dst in _imports(path):
            if dst == src or dst == "__version__" or dst not in LEVEL:
                continue
            if LEVEL[dst] > LEVEL[src] or (LEVEL[dst] == LEVEL[src] and (src, dst) not in SIDEWAYS):
                climbing.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {src} imports {dst}")
    assert not climbing, "\n".join(climbing)


def test_no_compatibility_shims_at_the_top():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert top == ["__init__.py", "__main__.py", "daemon.py", "demo.py", "entry.py", "services.py"], top


def test_the_entry_point_and_the_worker_import_nothing_heavy():
    code = textwrap.dedent("""
        import sys
        import tracer.entry
        import tracer.mail.prepare
        heavy = sorted(m for m in ("sqlalchemy", "sqlmodel", "pydantic", "rich", "jinja2", "aiosmtplib", "openpyxl", "fastapi")
                       if m in sys.modules)
        print(",".join(heavy))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
