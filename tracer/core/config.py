"""Configuration: every key declared once, with its type, default and help.

A file is validated as a whole before anything runs; each problem becomes one
French line naming the key (``mailbox[2].port : entier attendu, reçu "abc"``)
and :class:`ConfigError` carries them all.  Secrets are never in the file:
``password_env`` names an environment variable, ``password_file`` a file.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tracer.core import paths

HOLIDAY_ZONES = ("metropole", "alsace-moselle", "971", "972", "973", "974", "976")
TLS_MODES = ("ssl", "starttls", "none")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ConfigError(Exception):
    """A refused configuration: ``problems`` holds one French line each."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class Secret(str):
    """A string that never shows itself in a repr or a log."""

    def __repr__(self) -> str:  # pragma: no cover - trivial
        return "Secret('***')"


# --------------------------------------------------------------------------
# Declarations: (key, type, default, help).  Types: str, int, bool, list[str],
# list[int], list[date], "tls", "zone", "timezone", "secret".
# A default of REQUIRED means the key must be given.

REQUIRED = object()

TRACER_KEYS = [
    ("database_url", str, None, "URL SQLAlchemy de la base (défaut : fichier SQLite dans le dossier de données)"),
    ("database_password_env", str, None, "variable d'environnement du mot de passe de la base"),
    ("timezone", "timezone", "Europe/Paris", "fuseau d'affichage et de calcul des jours"),
    ("holiday_zone", "zone", "metropole", "zone des jours fériés"),
    ("closure_days", "list[date]", [], "jours de fermeture propres à la préfecture"),
    ("reference_prefix", str, "PREF", "préfixe des références (PREF74-2026-00042)"),
    ("rules_dir", str, None, "dossier des règles (défaut : règles livrées)"),
    ("templates_dir", str, None, "dossier des réponses types (défaut : modèles livrés)"),
    ("data_dir", str, None, "dossier des données (base SQLite par défaut)"),
]

MAILBOX_KEYS = [
    ("name", str, REQUIRED, "nom court de la boîte"),
    ("address", str, REQUIRED, "adresse de la boîte fonctionnelle"),
    ("service", str, None, "service propriétaire (défaut : le nom de la boîte)"),
    ("host", str, REQUIRED, "serveur IMAP"),
    ("port", int, None, "port IMAP (défaut : 993 en ssl, 143 sinon)"),
    ("tls", "tls", "ssl", "ssl | starttls | none"),
    ("ca_file", str, None, "autorité de certification interne (PEM)"),
    ("allow_insecure", bool, False, "autorise tls = none hors boucle locale"),
    ("username", str, None, "identifiant IMAP (défaut : l'adresse)"),
    ("password_env", str, None, "variable d'environnement du mot de passe"),
    ("password_file", str, None, "fichier contenant le mot de passe"),
    ("inbox", str, "INBOX", "dossier de réception"),
    ("sent", str, "Sent", "dossier des éléments envoyés"),
    ("timeout", int, 30, "délai de connexion en secondes"),
    ("batch_size", int, 200, "messages lus par lot"),
    ("idle", bool, True, "utilise IMAP IDLE quand le serveur le propose"),
    ("acknowledge", bool, False, "envoie un accusé de réception"),
    ("acknowledge_template", str, "accuse_reception", "modèle de l'accusé de réception"),
    ("acknowledge_per_hour", int, 30, "accusés de réception au plus par heure pour la boîte"),
]

SMTP_KEYS = [
    ("host", str, "127.0.0.1", "serveur SMTP"),
    ("port", int, None, "port (défaut : 465 en ssl, 587 en starttls, 25 sinon)"),
    ("tls", "tls", "starttls", "ssl | starttls | none"),
    ("ca_file", str, None, "autorité de certification interne (PEM)"),
    ("allow_insecure", bool, False, "autorise tls = none hors boucle locale"),
    ("username", str, None, "identifiant SMTP (aucun : pas d'authentification)"),
    ("password_env", str, None, "variable d'environnement du mot de passe"),
    ("password_file", str, None, "fichier contenant le mot de passe"),
    ("timeout", int, 30, "délai en secondes"),
    ("from_address", str, None, "expéditeur des alertes et bilans"),
]

SERVICE_KEYS = [
    ("name", str, REQUIRED, "nom court du service"),
    ("label", str, None, "libellé affiché"),
    ("alert_to", "list[str]", [], "destinataires des alertes"),
    ("signature", str, None, "signature des réponses"),
    ("contact", "list[str]", [], "lignes de contact ajoutées aux réponses"),
]

SCHEDULE_KEYS = [
    ("poll_seconds", int, 300, "intervalle de relève"),
    ("alerts_seconds", int, 3600, "intervalle des alertes"),
    ("digest", str, "mon 08:00", "jour et heure du bilan hebdomadaire"),
    ("outbox_seconds", int, 60, "intervalle des nouvelles tentatives d'envoi"),
    ("purge", str, "03:30", "heure de la purge nocturne"),
]

ALERTS_KEYS = [("before_working_days", "list[int]", [2, 1], "seuils d'alerte en jours ouvrés")]
DIGEST_KEYS = [("to", "list[str]", [], "destinataires du bilan hebdomadaire")]
RETENTION_KEYS = [("body_days", int, 365, "durée de conservation des contenus, en jours")]
WEB_KEYS = [
    ("base_url", str, "http://127.0.0.1:8000", "adresse publique de l'interface web (https : cookies Secure)"),
    ("session_hours", int, 10, "durée d'une session web, en heures"),
]
# [web.oidc]: optional single sign-on (ProConnect, Keycloak…)
OIDC_KEYS = [
    ("issuer", str, REQUIRED, "adresse du fournisseur d'identité OpenID Connect"),
    ("client_id", str, REQUIRED, "identifiant du client OpenID Connect"),
    ("client_secret_env", str, REQUIRED, "variable d'environnement du secret du client"),
]

SECTIONS = {
    "tracer": TRACER_KEYS,
    "smtp": SMTP_KEYS,
    "schedule": SCHEDULE_KEYS,
    "alerts": ALERTS_KEYS,
    "digest": DIGEST_KEYS,
    "retention": RETENTION_KEYS,
    "web": WEB_KEYS,
}
ARRAYS = {"mailbox": MAILBOX_KEYS, "service": SERVICE_KEYS}


# --------------------------------------------------------------------------
# The validated configuration.


@dataclass
class Section:
    values: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass
class Config:
    tracer: Section
    smtp: Section | None
    schedule: Section
    alerts: Section
    digest: Section
    retention: Section
    mailboxes: list[Section]
    services: list[Section]
    web: Section = field(default_factory=lambda: Section({"base_url": "http://127.0.0.1:8000", "session_hours": 10, "oidc": None}))
    path: Path | None = None
    base_dir: Path = field(default_factory=Path.cwd)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.tracer.timezone)

    @property
    def database_url(self) -> str:
        if self.tracer.database_url:
            env = self.tracer.database_password_env
            if env and os.environ.get(env) is not None:
                from sqlalchemy.engine import make_url

                url = make_url(self.tracer.database_url).set(password=os.environ[env])
                return url.render_as_string(hide_password=False)
            return self.tracer.database_url
        return "sqlite:///" + str(self.data_dir / "tracer.store.db")

    @property
    def data_dir(self) -> Path:
        if self.tracer.data_dir:
            return self._resolve(self.tracer.data_dir)
        return paths.user_data_dir()

    @property
    def rules_dir(self) -> Path:
        """The configured rules folder; a missing one falls back to the shipped rules, with a warning."""
        if self.tracer.rules_dir:
            for candidate in self._candidates(self.tracer.rules_dir):
                if candidate.is_dir():
                    return candidate
            _warn_once(f"tracer.rules_dir : dossier introuvable ({self.tracer.rules_dir}), règles livrées utilisées")
        return paths.default_rules_dir()

    def _candidates(self, value: str) -> list[Path]:
        path = Path(value).expanduser()
        if path.is_absolute():
            return [path]
        return [self.base_dir / path, Path.cwd() / path]

    @property
    def templates_dir(self) -> Path | None:
        """The prefecture's own templates (looked up before the shipped ones)."""
        if self.tracer.templates_dir:
            for candidate in self._candidates(self.tracer.templates_dir):
                if candidate.is_dir():
                    return candidate
            return self._resolve(self.tracer.templates_dir)
        return None

    def secret_problems(self, mailboxes: list[str] | None = None, smtp: bool = False) -> list[str]:
        """The passwords that could not be read, for the mailboxes named (all
        when None) and the SMTP server: checked before a command connects."""
        boxes = [b for b in self.mailboxes if mailboxes is None or b.name in mailboxes]
        sections = boxes + ([self.smtp] if smtp and self.smtp is not None else [])
        return [s.values["secret_problem"] for s in sections if s.values.get("secret_problem")]

    def secret_warnings(self, mailboxes: list[str] | None = None, smtp: bool = False) -> list[str]:
        """What is unsafe about the connections a command is about to open: a password
        file others can read, ``allow_insecure`` towards a remote server."""
        boxes = [b for b in self.mailboxes if mailboxes is None or b.name in mailboxes]
        sections = boxes + ([self.smtp] if smtp and self.smtp is not None else [])
        return [w for s in sections for w in s.values.get("warnings") or []]

    def mailbox(self, name: str) -> Section:
        for box in self.mailboxes:
            if box.name == name:
                return box
        raise KeyError(name)

    def service(self, name: str) -> Section | None:
        for svc in self.services:
            if svc.name == name:
                return svc
        return None

    def service_names(self) -> list[str]:
        names = [s.name for s in self.services]
        names += [b.service for b in self.mailboxes if b.service not in names]
        return names

    def _resolve(self, value: str) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else (self.base_dir / path)


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    import sys

    if message not in _warned:
        _warned.add(message)
        sys.stderr.write(f"configuration : avertissement : {message}\n")


# --------------------------------------------------------------------------
# Loading.


def find_config_path(explicit: str | None) -> Path | None:
    """``--config``, else ``TRACER_CONFIG``, else ``./tracer.toml``, else None."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("TRACER_CONFIG")
    if env:
        return Path(env)
    local = Path("tracer.toml")
    return local if local.exists() else None


def load(explicit: str | None = None) -> Config:
    """Load and validate the configuration; raise :class:`ConfigError`."""
    path = find_config_path(explicit)
    if path is None:
        return from_dict({}, None)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path} : fichier de configuration introuvable"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path} : lecture impossible ({exc.__class__.__name__})"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path} : {toml_error_fr(exc)}"]) from None
    return from_dict(data, path)


# tomllib's messages (Python 3.11 to 3.13), in French; an unknown one is kept as written.
_TOML_FR = [
    (r"Invalid statement", "instruction invalide"),
    (r"Expected newline or end of document after a statement", "fin de ligne attendue après une instruction"),
    (r"Cannot overwrite a value", "cette valeur est déjà définie"),
    (r"Expected '\]' at the end of a table declaration", "« ] » attendu à la fin du nom de section"),
    (r"Expected '\]\]' at the end of an array declaration", "« ]] » attendu à la fin du nom de section"),
    (r"Expected '=' after a key in a key/value pair", "« = » attendu après la clé"),
    (r"Invalid initial character for a key part", "caractère invalide au début d'une clé"),
    (r"Unclosed array", "liste non fermée (« ] » manquant)"),
    (r"Unclosed inline table", "table en ligne non fermée (« } » manquant)"),
    (r"Unescaped '\\' in a string", "« \\ » non échappé dans une chaîne"),
    (r"Invalid hex value", "valeur hexadécimale invalide"),
    (r"Escaped character is not a Unicode scalar value", "caractère échappé invalide"),
    (r"Unterminated string", "chaîne non terminée (guillemet fermant manquant)"),
    (r"Invalid date or datetime", "date ou heure invalide"),
    (r"Invalid value", "valeur invalide"),
    (r"Cannot declare (.+) twice", "{0} déclaré deux fois"),
    (r"Cannot mutate immutable namespace (.+)", "{0} ne peut plus être modifié"),
    (r"Cannot redefine namespace (.+)", "section {0} redéfinie"),
    (r"Duplicate inline table key (.+)", "clé {0} en double"),
    (r"Found invalid character (.+)", "caractère invalide {0}"),
    (r"Illegal character (.+)", "caractère interdit {0}"),
    (r"Expected (.+)", "{0} attendu"),
]


def toml_error_fr(exc: Exception) -> str:
    """``Expected ']' … (at line 1, column 8)`` -> ``syntaxe TOML invalide ligne 1, colonne 8 : « ] » attendu …``."""
    text = str(exc)
    where = ""
    m = re.fullmatch(r"(.*) \(at (?:line (\d+), column (\d+)|(end of document))\)", text, re.S)
    if m:
        text = m.group(1)
        where = " en fin de fichier" if m.group(4) else f" ligne {m.group(2)}, colonne {m.group(3)}"
    for pattern, french in _TOML_FR:
        found = re.fullmatch(pattern, text)
        if found:
            text = french.format(*found.groups())
            break
    return f"syntaxe TOML invalide{where} : {text}"


def from_dict(data: dict, path: Path | None = None) -> Config:
    problems: list[str] = []
    known = set(SECTIONS) | set(ARRAYS)
    for key in data:
        if key not in known:
            problems.append(f"{key} : section inconnue")
    sections = {}
    oidc_raw = None
    for name, keys in SECTIONS.items():
        raw = data.get(name, {})
        if not isinstance(raw, dict):
            problems.append(f"{name} : table attendue ([{name}])")
            raw = {}
        if name == "web" and "oidc" in raw:
            raw = dict(raw)
            oidc_raw = raw.pop("oidc")
        sections[name] = Section(_validate(name, raw, keys, problems))
    sections["web"].values["oidc"] = _validate_oidc(oidc_raw, problems)
    arrays: dict[str, list[Section]] = {}
    for name, keys in ARRAYS.items():
        raw = data.get(name, [])
        if not isinstance(raw, list):
            problems.append(f"{name} : liste de tables attendue ([[{name}]])")
            raw = []
        items = []
        for index, item in enumerate(raw, start=1):
            label = f"{name}[{index}]"
            if not isinstance(item, dict):
                problems.append(f"{label} : table attendue")
                continue
            items.append(Section(_validate(label, item, keys, problems)))
        arrays[name] = items
    base_dir = path.parent.resolve() if path else Path.cwd()
    _complete_mailboxes(arrays["mailbox"], problems, base_dir)
    smtp = sections.pop("smtp")
    if "smtp" in data:
        _resolve_secret("smtp", smtp.values, problems, base_dir)
        _check_tls("smtp", smtp.values, problems, {"ssl": 465, "starttls": 587, "none": 25})
    else:
        smtp = None
    _check_cross(sections, arrays, problems)
    if problems:
        raise ConfigError(problems)
    return Config(
        tracer=sections["tracer"],
        smtp=smtp,
        schedule=sections["schedule"],
        alerts=sections["alerts"],
        digest=sections["digest"],
        retention=sections["retention"],
        web=sections["web"],
        mailboxes=arrays["mailbox"],
        services=arrays["service"],
        path=path,
        base_dir=base_dir,
    )


def _validate(label: str, raw: dict, keys: list, problems: list[str]) -> dict:
    out: dict[str, Any] = {}
    declared = {k[0] for k in keys}
    for key in raw:
        if key == "password":
            problems.append(f"{label}.password : mot de passe interdit dans le fichier, utilisez password_env ou password_file")
        elif key not in declared:
            problems.append(f"{label}.{key} : clé inconnue")
    for key, kind, default, _help in keys:
        if key not in raw:
            if default is REQUIRED:
                problems.append(f"{label}.{key} : clé obligatoire manquante")
                out[key] = None
            else:
                out[key] = list(default) if isinstance(default, list) else default
            continue
        value, error = _coerce(raw[key], kind)
        if error:
            problems.append(f"{label}.{key} : {error}")
        out[key] = value
    return out


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _coerce(value: Any, kind: Any) -> tuple[Any, str | None]:
    if kind is str:
        if isinstance(value, str):
            return value, None
        return None, f"texte attendu, reçu {_shown(value)}"
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 0:
                return None, f"entier positif attendu, reçu {value}"
            return value, None
        return None, f"entier attendu, reçu {_shown(value)}"
    if kind is bool:
        if isinstance(value, bool):
            return value, None
        return None, f"booléen attendu (true ou false), reçu {_shown(value)}"
    if kind == "tls":
        if value in TLS_MODES:
            return value, None
        return None, f'valeur attendue parmi "ssl", "starttls", "none", reçu {_shown(value)}'
    if kind == "zone":
        if value in HOLIDAY_ZONES:
            return value, None
        return None, "zone attendue parmi " + ", ".join(f'"{z}"' for z in HOLIDAY_ZONES) + f", reçu {_shown(value)}"
    if kind == "timezone":
        if isinstance(value, str):
            try:
                ZoneInfo(value)
                return value, None
            except (ZoneInfoNotFoundError, ValueError):
                pass
        return None, f"fuseau horaire inconnu, reçu {_shown(value)}"
    if isinstance(kind, str) and kind.startswith("list["):
        if not isinstance(value, list):
            return None, f"liste attendue, reçu {_shown(value)}"
        inner = {"list[str]": str, "list[int]": int, "list[date]": "date"}[kind]
        out = []
        for i, item in enumerate(value, start=1):
            if inner == "date":
                if isinstance(item, date):
                    out.append(item)
                    continue
                try:
                    out.append(date.fromisoformat(item))
                    continue
                except (TypeError, ValueError):
                    return None, f"élément {i} : date AAAA-MM-JJ attendue, reçu {_shown(item)}"
            coerced, error = _coerce(item, inner)
            if error:
                return None, f"élément {i} : {error}"
            out.append(coerced)
        return out, None
    raise AssertionError(f"unknown config type {kind!r}")  # a declaration bug


def _complete_mailboxes(boxes: list[Section], problems: list[str], base_dir: Path) -> None:
    seen: set[str] = set()
    for index, box in enumerate(boxes, start=1):
        label = f"mailbox[{index}]"
        v = box.values
        if v["name"] in seen:
            problems.append(f"{label}.name : nom déjà utilisé par une autre boîte ({_shown(v['name'])})")
        seen.add(v["name"])
        if v["service"] is None:
            v["service"] = v["name"]
        if v["username"] is None:
            v["username"] = v["address"]
        _check_tls(label, v, problems, {"ssl": 993, "starttls": 143, "none": 143})
        _resolve_secret(label, v, problems, base_dir)
        if v["batch_size"] == 0:
            problems.append(f"{label}.batch_size : entier strictement positif attendu")
        if v["acknowledge_per_hour"] < 1:
            problems.append(f"{label}.acknowledge_per_hour : entier strictement positif attendu")
        if v["inbox"] and v["sent"] and v["inbox"] == v["sent"]:
            problems.append(f"{label}.sent : doit différer de inbox")


def _check_tls(label: str, v: dict, problems: list[str], default_ports: dict) -> None:
    if v.get("port") is None and v.get("tls") in default_ports:
        v["port"] = default_ports[v["tls"]]
    if v.get("port") is not None and not (0 < v["port"] < 65536):
        problems.append(f"{label}.port : port entre 1 et 65535 attendu, reçu {v['port']}")
    if v.get("tls") == "none" and not v.get("allow_insecure") and v.get("host"):
        if not _is_loopback(v["host"]):
            problems.append(
                f"{label}.tls : \"none\" refusé pour un serveur distant ({v['host']}) ; "
                "utilisez ssl ou starttls, ou allow_insecure = true"
            )
    if v.get("tls") == "none" and v.get("allow_insecure") and v.get("host") and not _is_loopback(v["host"]):
        v.setdefault("warnings", []).append(
            f"{label}.allow_insecure : connexion sans chiffrement vers {v['host']} : le mot de passe et "
            "les courriels circulent en clair")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _resolve_secret(label: str, v: dict, problems: list[str], base_dir: Path) -> None:
    """Read the password now; a missing variable or file is kept as a problem of
    the secret (``secret_problem``), reported only by the commands that connect
    (``tracer import`` or ``tracer stats`` need no password)."""
    v["password"] = None
    v["secret_problem"] = None
    env, file = v.get("password_env"), v.get("password_file")
    if env and file:
        problems.append(f"{label}.password_file : password_env et password_file sont exclusifs")
        return
    if env:
        value = os.environ.get(env)
        if value is None:
            v["secret_problem"] = f"{label}.password_env : variable d'environnement {env} non définie"
        else:
            v["password"] = Secret(value)
    elif file:
        path = Path(file).expanduser()
        if not path.is_absolute():
            path = base_dir / path
        try:
            v["password"] = Secret(path.read_text(encoding="utf-8").rstrip("\r\n"))
        except OSError:
            v["secret_problem"] = f"{label}.password_file : fichier illisible ({path})"
            return
        shared = _shared_file(path)
        if shared:
            v.setdefault("warnings", []).append(f"{label}.password_file : {shared}")


def _shared_file(path: Path) -> str | None:
    """A secret file others can read (group or world bits): warned about, not refused."""
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        return None
    if mode & 0o077:
        return (f"{path} est lisible par d'autres comptes (mode {mode:04o}) ; "
                f"restreignez-le au compte de service : chmod 600 {path}")
    return None


def _validate_oidc(raw, problems: list[str]) -> Section | None:
    """``[web.oidc]``, or None when single sign-on is not configured."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.append("web.oidc : table attendue ([web.oidc])")
        return None
    values = _validate("web.oidc", raw, OIDC_KEYS, problems)
    issuer = values.get("issuer")
    if isinstance(issuer, str) and not _is_web_url(issuer, https_only=True):
        problems.append(f"web.oidc.issuer : adresse https:// attendue, reçu {_shown(issuer)}")
    return Section(values)


def _is_web_url(value: str, https_only: bool = False) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if not parts.netloc:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and (not https_only or _is_loopback(parts.hostname or ""))


def _check_cross(sections: dict, arrays: dict, problems: list[str]) -> None:
    tracer = sections["tracer"].values
    env = tracer.get("database_password_env")
    if env and os.environ.get(env) is None:
        problems.append(f"tracer.database_password_env : variable d'environnement {env} non définie")
    if env and not tracer.get("database_url"):
        problems.append("tracer.database_password_env : sans database_url, il n'y a pas de mot de passe à donner")
    web = sections["web"].values
    if isinstance(web.get("base_url"), str) and not _is_web_url(web["base_url"]):
        problems.append(f"web.base_url : adresse http:// ou https:// attendue, reçu {_shown(web['base_url'])}")
    if web.get("session_hours") == 0:
        problems.append("web.session_hours : entier strictement positif attendu")
    schedule = sections["schedule"].values
    digest = schedule.get("digest")
    if isinstance(digest, str) and parse_weekly(digest) is None:
        problems.append(f'schedule.digest : "jour HH:MM" attendu (ex. "mon 08:00"), reçu {_shown(digest)}')
    purge = schedule.get("purge")
    if isinstance(purge, str) and parse_hhmm(purge) is None:
        problems.append(f'schedule.purge : "HH:MM" attendu, reçu {_shown(purge)}')
    for key in ("poll_seconds", "alerts_seconds", "outbox_seconds"):
        if schedule.get(key) == 0:
            problems.append(f"schedule.{key} : entier strictement positif attendu")
    names = set()
    for index, svc in enumerate(arrays["service"], start=1):
        if svc.values["name"] in names:
            problems.append(f"service[{index}].name : service déjà déclaré ({_shown(svc.values['name'])})")
        names.add(svc.values["name"])
        if svc.values["label"] is None:
            svc.values["label"] = svc.values["name"]


def parse_hhmm(text: str) -> tuple[int, int] | None:
    try:
        hh, mm = text.strip().split(":")
        h, m = int(hh), int(mm)
    except ValueError:
        return None
    return (h, m) if 0 <= h < 24 and 0 <= m < 60 else None


def parse_weekly(text: str) -> tuple[str, int, int] | None:
    """``"mon 08:00"`` -> ("mon", 8, 0)."""
    parts = text.strip().lower().split()
    if len(parts) != 2 or parts[0] not in WEEKDAYS:
        return None
    hm = parse_hhmm(parts[1])
    return (parts[0], *hm) if hm else None


def all_declared_keys() -> list[str]:
    """Every key as ``section.key`` (used by the documentation test)."""
    out = []
    for name, keys in SECTIONS.items():
        out += [f"{name}.{k[0]}" for k in keys]
    out += [f"web.oidc.{k[0]}" for k in OIDC_KEYS]
    for name, keys in ARRAYS.items():
        out += [f"{name}.{k[0]}" for k in keys]
    return out
