"""Reply templates (réponses types): sandboxed Jinja2, strict about variables.

One template per file ``NAME.txt.j2`` (text body) with an optional
``NAME.html.j2``; metadata in a TOML front matter between ``+++`` lines at
the top of the text file (``title``, ``subject``, ``categories``, ``topics``).
The prefecture's own folder (``templates_dir``) is looked up before the
shipped one, so one template can be overridden without copying the others.

Rendering uses :class:`jinja2.sandbox.SandboxedEnvironment` and
``StrictUndefined``: a missing variable is an error naming it, never an empty
hole in a letter to a citizen; the HTML part is autoescaped.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from tracer import clock, paths
from tracer.errors import NotFound, UserError

# French month names, spelled out here so that no system locale is needed.
MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"]
FRONT = re.compile(r"\A\+\+\+\s*\n(.*?)\n\+\+\+\s*\n", re.DOTALL)
DEFAULT_SUBJECT = "RE: {{ request.subject_clean }} [{{ request.reference }}]"


class TemplateError(UserError):
    """A template that cannot be rendered, explained in French."""


@dataclass
class TemplateInfo:
    name: str
    title: str
    categories: list[str]
    topics: list[str]
    subject: str
    has_html: bool
    folder: Path | None = None  # where the text part was found (its HTML part must sit beside it)


@dataclass
class RenderedReply:
    subject: str
    text: str
    html: str | None


def month_fr(month: int) -> str:
    """1 -> « janvier »."""
    return MONTHS[month - 1]


def date_fr(value: datetime | date | None, tz=clock.PARIS, with_time: bool = False) -> str:
    """« 12 juillet 2026 » or « 12 juillet 2026 à 14 h 05 » (Europe/Paris by default)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        local = clock.local(value, tz)
    else:
        local, with_time = value, False
    day = "1er" if local.day == 1 else str(local.day)
    text = f"{day} {month_fr(local.month)} {local.year}"
    if with_time:
        text += f" à {local.hour} h {local.minute:02d}"
    return text


def folders(cfg) -> list[Path]:
    out = []
    own = cfg.templates_dir if cfg is not None else None
    if own is not None and own.is_dir():
        out.append(own)
    out.append(paths.default_templates_dir())
    return out


def _split(source: str, name: str) -> tuple[dict, str]:
    match = FRONT.match(source)
    if not match:
        return {}, source
    try:
        meta = tomllib.loads(match.group(1))
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"modèle « {name} » : en-tête TOML invalide ({exc})") from None
    return meta, source[match.end():]


class _Loader(jinja2.BaseLoader):
    """Looks in each folder in turn; strips the front matter."""

    def __init__(self, dirs: list[Path]):
        self.dirs = dirs

    def get_source(self, environment, template):
        for folder in self.dirs:
            path = folder / template
            if path.is_file():
                source = path.read_text(encoding="utf-8")
                _, body = _split(source, template)
                mtime = path.stat().st_mtime
                return body, str(path), lambda p=path, m=mtime: p.exists() and p.stat().st_mtime == m
        raise jinja2.TemplateNotFound(template)


def _environment(cfg, html: bool) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=_Loader(folders(cfg)),
        undefined=jinja2.StrictUndefined,
        autoescape=html,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def list_templates(cfg) -> list[TemplateInfo]:
    seen: dict[str, TemplateInfo] = {}
    for folder in folders(cfg):
        for path in sorted(folder.glob("*.txt.j2")):
            name = path.name[: -len(".txt.j2")]
            if name in seen or name.startswith("_"):  # _partials are included, not listed
                continue
            meta, _ = _split(path.read_text(encoding="utf-8"), name)
            seen[name] = TemplateInfo(
                name=name,
                title=str(meta.get("title", name)),
                categories=list(meta.get("categories", [])),
                topics=list(meta.get("topics", [])),
                subject=str(meta.get("subject", DEFAULT_SUBJECT)),
                # an overridden text part never travels with the shipped HTML part
                has_html=(folder / f"{name}.html.j2").is_file(),
                folder=folder,
            )
    return sorted(seen.values(), key=lambda t: t.name)


def get_template(cfg, name: str) -> TemplateInfo:
    for info in list_templates(cfg):
        if info.name == name:
            return info
    known = ", ".join(t.name for t in list_templates(cfg))
    raise NotFound(f"modèle « {name} » introuvable (modèles disponibles : {known})")


def render(cfg, name: str, context: dict) -> RenderedReply:
    """Render one template: subject, text and (if it has one) HTML part.

    ``context`` holds ``request``, ``citizen``, ``service``, ``mailbox``,
    ``today_fr`` and ``values`` (see ``reply.context_for``). Raises
    :class:`TemplateError` naming the template and the missing variable.
    """
    info = get_template(cfg, name)
    text = _render(cfg, lambda env: env.get_template(f"{name}.txt.j2"), context, name, html=False)
    html = None
    if info.has_html:
        # the HTML part is read from the folder of the text part (see list_templates)
        html = _render(cfg, lambda env: env.get_template(str(info.folder / f"{name}.html.j2")), context, name,
                       html=True, dirs=[info.folder])
    subject = _render(cfg, lambda env: env.from_string(info.subject), context, name, html=False, where="dans l'objet ")
    return RenderedReply(subject=" ".join(subject.split()), text=text, html=html)


def _render(cfg, load, context: dict, name: str, html: bool, dirs: list[Path] | None = None, where: str = "") -> str:
    env = _environment(cfg, html)
    if dirs is not None:
        env.loader = _Loader([Path("/")] + folders(cfg))  # absolute name for the part, then partials as usual
    try:
        return load(env).render(**context)
    except jinja2.UndefinedError as exc:
        raise TemplateError(_undefined_message(name, exc)) from None
    except jinja2.exceptions.SecurityError as exc:
        raise TemplateError(f"modèle « {name} » : opération interdite par le bac à sable ({exc})") from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"modèle « {name} » : erreur de syntaxe {where}ligne {exc.lineno} ({exc.message})") from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"modèle « {name} » : fichier inclus « {exc.name} » introuvable") from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"modèle « {name} » : {exc}") from None


def _undefined_message(name: str, exc: Exception) -> str:
    found = re.search(r"'([^']+)' is undefined|has no attribute '([^']+)'", str(exc))
    variable = (found.group(1) or found.group(2)) if found else str(exc)
    return f"modèle « {name} » : variable « {variable} » non définie ; fournissez-la avec --set {variable}=…"


def check_all(cfg) -> list[str]:
    """Syntax-check every template (used by ``tracer templates --check``)."""
    problems = []
    for info in list_templates(cfg):
        for suffix, html in ((".txt.j2", False), (".html.j2", True)):
            if suffix == ".html.j2" and not info.has_html:
                continue
            try:
                _environment(cfg, html).get_template(info.name + suffix)
            except jinja2.TemplateSyntaxError as exc:
                problems.append(f"modèle « {info.name} » : erreur de syntaxe ligne {exc.lineno} ({exc.message})")
    return problems
