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

import logging
import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from tracer.core import clock
from tracer.core import paths
from tracer.core.errors import NotFound, UserError

log = logging.getLogger("tracer.outgoing.templates")

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


def _meta(meta: dict, key: str, kind: type, default, name: str):
    value = meta.get(key, default)
    if kind is list and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    if kind is str and isinstance(value, str):
        return value
    expected = "liste de textes" if kind is list else "texte"
    raise TemplateError(f"modèle « {name} » : en-tête, {key} : {expected} attendu")


def inside(folder: Path, path: Path) -> bool:
    """Whether ``path``, symbolic links followed, stays in ``folder``: a link in a
    templates folder pointing elsewhere (/etc/…, another account's files) is not read."""
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


class _Loader(jinja2.BaseLoader):
    """Looks in each folder in turn; strips the front matter."""

    def __init__(self, dirs: list[Path]):
        self.dirs = dirs

    def get_source(self, environment, template):
        if Path(template).is_absolute() or ".." in Path(template).parts:
            raise jinja2.TemplateNotFound(template)  # includes stay inside the template folders
        for folder in self.dirs:
            path = folder / template
            if path.is_file() and inside(folder, path):
                source = path.read_text(encoding="utf-8")
                _, body = _split(source, template)
                mtime = path.stat().st_mtime
                return body, str(path), lambda p=path, m=mtime: p.exists() and p.stat().st_mtime == m
        raise jinja2.TemplateNotFound(template)


def _environment(cfg, html: bool, dirs: list[Path] | None = None) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=_Loader(dirs or folders(cfg)),
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
            if not inside(folder, path):
                log.warning("modèle %s ignoré : lien symbolique hors du dossier des modèles (%s)", name, folder)
                continue
            meta, _ = _split(path.read_text(encoding="utf-8"), name)
            seen[name] = TemplateInfo(
                name=name,
                title=_meta(meta, "title", str, name, name),
                categories=_meta(meta, "categories", list, [], name),
                topics=_meta(meta, "topics", list, [], name),
                subject=_meta(meta, "subject", str, DEFAULT_SUBJECT, name),
                # an overridden text part never travels with the shipped HTML part
                has_html=(folder / f"{name}.html.j2").is_file() and inside(folder, folder / f"{name}.html.j2"),
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
    text = _render(_environment(cfg, html=False), f"{name}.txt.j2", context, name)
    html = None
    if info.has_html:
        # the HTML part comes from the folder of the text part; partials as usual
        env = _environment(cfg, html=True, dirs=[info.folder, *folders(cfg)])
        html = _render(env, f"{name}.html.j2", context, name)
    subject = _render(_environment(cfg, html=False), None, context, name, source=info.subject)
    return RenderedReply(subject=" ".join(subject.split()), text=text, html=html)


def _render(env: SandboxedEnvironment, filename: str | None, context: dict, name: str, source: str | None = None) -> str:
    where = "dans l'objet, " if source is not None else ""
    try:
        template = env.from_string(source) if source is not None else env.get_template(filename)
        return template.render(**context)
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
    except TemplateError:
        raise
    except Exception as exc:  # {{ 1/0 }}, a filter given the wrong type: the template's fault, not a crash
        raise TemplateError(f"modèle « {name} » : erreur à l'exécution {where}({exc.__class__.__name__} : {exc})") from None


def _undefined_message(name: str, exc: Exception) -> str:
    found = re.search(r"'([^']+)' is undefined|has no attribute '([^']+)'", str(exc))
    variable = (found.group(1) or found.group(2)) if found else str(exc)
    return f"modèle « {name} » : variable « {variable} » non définie ; fournissez-la avec --set {variable}=…"


def check_all(cfg) -> list[str]:
    """Problems of every template, one French line each (``tracer templates --check``):
    invalid front matter, unknown category, syntax error in the subject or a part."""
    from tracer.rules.vocabulary import CATEGORIES

    try:
        infos = list_templates(cfg)
    except TemplateError as exc:
        return [str(exc)]
    problems = []
    if cfg is not None and cfg.templates_dir is not None and not cfg.templates_dir.is_dir():
        problems.append(f"tracer.templates_dir : dossier introuvable ({cfg.templates_dir}) ; seuls les modèles livrés sont utilisés")
    for info in infos:
        for category in info.categories:
            if category not in CATEGORIES:
                problems.append(f"modèle « {info.name} » : catégorie inconnue « {category} »")
        parts = [(f"{info.name}.txt.j2", _environment(cfg, html=False))]
        if info.has_html:
            parts.append((f"{info.name}.html.j2", _environment(cfg, html=True, dirs=[info.folder, *folders(cfg)])))
        try:
            _environment(cfg, html=False).from_string(info.subject)
            for filename, env in parts:
                env.get_template(filename)
        except jinja2.TemplateSyntaxError as exc:
            problems.append(f"modèle « {info.name} » : erreur de syntaxe ligne {exc.lineno} ({exc.message})")
    return problems


# What reply.context_for gives every template; any other variable is a value given at sending.
CONTEXT_NAMES = {"request", "citizen", "service", "mailbox", "today_fr", "values", "loop", "range", "line"}
_VALUE_USE = re.compile(r"\bvalues\.([A-Za-z_][A-Za-z0-9_]*)")
_OPTIONAL_VALUE = re.compile(r"\bvalues\.([A-Za-z_][A-Za-z0-9_]*)\s+is\s+(?:not\s+)?defined")


def fields(cfg, name: str) -> list[dict]:
    """The values a template asks for at sending (``--set KEY=…``, the web form's fields),
    in order of appearance: ``{"name": …, "required": bool}``; a value only tested with
    ``is defined`` is optional."""
    from jinja2 import meta

    info = get_template(cfg, name)
    sources = [info.subject]
    for suffix in (".txt.j2", ".html.j2"):
        path = (info.folder or Path()) / f"{name}{suffix}"
        if path.is_file():
            sources.append(_split(path.read_text(encoding="utf-8"), name)[1])
    env = _environment(cfg, html=False)
    found: dict[str, bool] = {}
    for source in sources:
        optional = set(_OPTIONAL_VALUE.findall(source))
        for key in _VALUE_USE.findall(source):
            found.setdefault(key, key not in optional)
        try:
            bare = meta.find_undeclared_variables(env.parse(source)) - CONTEXT_NAMES
        except jinja2.TemplateSyntaxError:
            bare = set()
        for key in sorted(bare):
            found.setdefault(key, True)
    return [{"name": key, "required": required} for key, required in found.items()]
