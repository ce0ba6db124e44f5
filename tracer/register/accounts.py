"""Accounts of the web interface: who may sign in, what each role may see and do.

- accounts (``tracer user add/list/disable``), passwords hashed with argon2;
- :func:`sign_in` opens a server-side session for an account, whatever proved
  who it is (a password here, OpenID Connect later): one function for both;
- :func:`session_account` finds the account of a cookie on every request: a
  revoked or expired session or a disabled account is signed out;
- personal API tokens (``tracer user token``), kept as SHA-256 only;
- password attempts rate-limited per login and per client address, each
  failure an event ``connexion_refusee`` (never the password);
- :class:`Scope`: the services a signed-in account sees and what it may do.
  Every register query of the web passes ``scope.services``.

Imports ``core`` and ``store`` only, like the rest of the register.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlmodel import Session

from tracer.core.errors import NotFound, UserError
from tracer.register.requests import add_event
from tracer.store.models import Account, ApiToken, LoginAttempt, WebSession

ROLES = ("agent", "referent", "auditeur", "admin")
ROLE_FR = {"agent": "agent", "referent": "référent", "auditeur": "auditeur", "admin": "administrateur"}

# What each role may do on requests (issue 16, "Roles"). Reading is ``Scope.reads_requests``.
ACTIONS = ("answer", "reclassify", "transfer", "assign", "register_paper", "link")
ROLE_ACTIONS = {
    "agent": frozenset(ACTIONS),
    "referent": frozenset(ACTIONS),
    "auditeur": frozenset(),
    "admin": frozenset(),
}

# Rate limits of password sign-in: failures in the window, per login and per address.
WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_LOGIN = 5
MAX_FAILURES_PER_ADDRESS = 20

REFUSED = "Identifiant ou mot de passe incorrect."
THROTTLED = "Trop de tentatives de connexion : réessayez dans quelques minutes."


class SignInRefused(UserError):
    """A refused sign-in; the message is safe to show (it never says which part was wrong)."""


@dataclass(frozen=True)
class Scope:
    """What a signed-in account sees and may do.

    ``services``: the services whose requests it sees (None: every service;
    an empty list: none). Pass it as ``services=`` to the register's queries.
    """

    login: str
    role: str
    services: list[str] | None
    name: str | None = None

    @property
    def reads_requests(self) -> bool:
        return self.role != "admin"

    def may(self, action: str) -> bool:
        return action in ROLE_ACTIONS.get(self.role, frozenset())

    @property
    def acts(self) -> bool:
        return bool(ROLE_ACTIONS.get(self.role))

    @property
    def label(self) -> str:
        return self.name or self.login


def scope_of(account: Account) -> Scope:
    if account.role == "agent":
        services = list(account.services or [])
    elif account.role in ("referent", "auditeur"):
        services = None
    else:  # admin: accounts only, no request content
        services = []
    return Scope(login=account.login, role=account.role, services=services, name=account.name)


# --------------------------------------------------------------------------
# Passwords.

_hasher = None


def _ph():
    global _hasher
    if _hasher is None:
        from argon2 import PasswordHasher

        _hasher = PasswordHasher()
    return _hasher


def hash_password(password: str) -> str:
    return _ph().hash(password)


def _verify(password_hash: str | None, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    if not password_hash:
        # same work as a real check: the answer's time does not tell a login exists
        _ph().hash(password)
        return False
    try:
        return _ph().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------
# Accounts.


def _clean_login(login: str) -> str:
    login = (login or "").strip()
    if not login or len(login) > 200 or any(c.isspace() for c in login):
        raise UserError(f"identifiant invalide « {login} » (sans espace, 200 caractères au plus)")
    return login


def add_account(session: Session, login: str, role: str, now: datetime, *, password: str | None,
                services: list[str] = (), name: str | None = None, email: str | None = None,
                known_services: list[str] | None = None, by: str = "tracer") -> Account:
    login = _clean_login(login)
    if role not in ROLES:
        raise UserError(f"rôle inconnu « {role} » (attendu : {', '.join(ROLES)})")
    services = [s.strip() for s in services if s and s.strip()]
    if known_services:
        unknown = [s for s in services if s not in known_services]
        if unknown:
            raise UserError(f"service inconnu « {unknown[0]} » (services déclarés : {', '.join(known_services)})")
    if role == "agent" and not services:
        raise UserError("un agent voit les demandes de ses services : indiquez au moins un service (--service)")
    if password is not None and len(password) < 8:
        raise UserError("mot de passe trop court (8 caractères au moins)")
    if session.execute(select(Account.id).where(Account.login == login)).first() is not None:
        raise UserError(f"l'identifiant « {login} » existe déjà")
    account = Account(login=login, role=role, services=services, name=(name or "").strip() or None,
                      email=(email or "").strip().lower() or None,
                      password_hash=hash_password(password) if password is not None else None, created_at=now)
    session.add(account)
    session.flush()
    add_event(session, None, "compte_cree", by, now, login=login, role=role, services=services)
    return account


def get_account(session: Session, login: str) -> Account:
    account = session.execute(select(Account).where(Account.login == (login or "").strip())).scalars().first()
    if account is None:
        raise NotFound(f"compte « {login} » introuvable")
    return account


def find_by_email(session: Session, email: str) -> Account | None:
    """The enabled account of an address (OpenID Connect matches accounts by e-mail)."""
    return session.execute(
        select(Account).where(Account.email == (email or "").strip().lower(), Account.disabled.is_(False))
    ).scalars().first()


def list_accounts(session: Session) -> list[Account]:
    return list(session.execute(select(Account).order_by(Account.login)).scalars())


def account_view(account: Account, tz=None) -> dict:
    from tracer.core import clock

    return {
        "login": account.login,
        "name": account.name,
        "email": account.email,
        "role": account.role,
        "services": list(account.services or []),
        "disabled": bool(account.disabled),
        "created_at": clock.iso_local(account.created_at, tz) if tz else account.created_at.isoformat(),
        "last_login_at": (clock.iso_local(account.last_login_at, tz) if tz else account.last_login_at.isoformat())
        if account.last_login_at else None,
    }


def disable_account(session: Session, login: str, now: datetime, by: str = "tracer") -> Account:
    """Disable an account: its sessions and tokens stop at their next request."""
    account = get_account(session, login)
    if account.disabled:
        raise UserError(f"le compte « {account.login} » est déjà désactivé")
    account.disabled = True
    session.add(account)
    session.execute(update(WebSession).where(WebSession.account_id == account.id, WebSession.revoked_at.is_(None))
                    .values(revoked_at=now))
    session.execute(update(ApiToken).where(ApiToken.account_id == account.id, ApiToken.revoked_at.is_(None))
                    .values(revoked_at=now))
    add_event(session, None, "compte_desactive", by, now, login=account.login)
    return account


def _revoke_sessions(session: Session, account: Account, now: datetime) -> None:
    session.execute(update(WebSession).where(WebSession.account_id == account.id, WebSession.revoked_at.is_(None))
                    .values(revoked_at=now))


def update_account(session: Session, login: str, now: datetime, *, role: str | None = None,
                   services: list[str] | None = None, known_services: list[str] | None = None,
                   by: str = "tracer") -> Account:
    """Change an account's role and/or services (``tracer user update``, « Comptes »).

    Its open sessions end (the next page asks to sign in again with the new rights)."""
    account = get_account(session, login)
    new_role = account.role if role is None else role
    if new_role not in ROLES:
        raise UserError(f"rôle inconnu « {new_role} » (attendu : {', '.join(ROLES)})")
    if services is not None:
        new_services = [s.strip() for s in services if s and s.strip()]
    else:  # services only scope an agent: another role keeps none
        new_services = list(account.services or []) if new_role == "agent" else []
    if known_services:
        unknown = [s for s in new_services if s not in known_services]
        if unknown:
            raise UserError(f"service inconnu « {unknown[0]} » (services déclarés : {', '.join(known_services)})")
    if new_role == "agent" and not new_services:
        raise UserError("un agent voit les demandes de ses services : indiquez au moins un service")
    if new_role == account.role and new_services == list(account.services or []):
        raise UserError(f"le compte « {account.login} » a déjà ce rôle et ces services")
    before = {"role": account.role, "services": list(account.services or [])}
    account.role, account.services = new_role, new_services
    session.add(account)
    _revoke_sessions(session, account, now)
    add_event(session, None, "compte_modifie", by, now, login=account.login, before=before,
              role=new_role, services=new_services)
    return account


def reset_password(session: Session, login: str, now: datetime, password: str | None = None,
                   by: str = "tracer") -> str:
    """A new password for ``login`` (random unless given), returned to be shown once; only its hash is kept.

    The account's open sessions end; its API tokens stay (revoke them by disabling the account)."""
    account = get_account(session, login)
    if account.disabled:
        raise UserError(f"le compte « {account.login} » est désactivé")
    if password is None:
        password = secrets.token_urlsafe(12)
    elif len(password) < 8:
        raise UserError("mot de passe trop court (8 caractères au moins)")
    account.password_hash = hash_password(password)
    session.add(account)
    _revoke_sessions(session, account, now)
    add_event(session, None, "mot_de_passe_reinitialise", by, now, login=account.login)
    return password


def recent_sign_ins(session: Session, limit: int = 20) -> list[LoginAttempt]:
    """The latest password sign-in attempts (successful or not), newest first."""
    return list(session.execute(select(LoginAttempt).order_by(LoginAttempt.at.desc(), LoginAttempt.id.desc())
                                .limit(limit)).scalars())


# --------------------------------------------------------------------------
# Sign-in and sessions.


def _failures(session: Session, column, value, since: datetime) -> int:
    return session.execute(
        select(func.count()).select_from(LoginAttempt)
        .where(column == value, LoginAttempt.success.is_(False), LoginAttempt.at >= since)
    ).scalar_one()


def check_password(session: Session, login: str, password: str, address: str | None,
                   now: datetime) -> tuple[Account | None, str | None]:
    """``(account, None)`` when this is its password, else ``(None, French message)``.

    Refused while the login or the address has too many recent failures;
    every failure is recorded (attempt row and ``connexion_refusee`` event),
    so the caller commits either way."""
    login = (login or "").strip()[:200]
    since = now - WINDOW
    throttled = (_failures(session, LoginAttempt.login, login, since) >= MAX_FAILURES_PER_LOGIN
                 or (address is not None
                     and _failures(session, LoginAttempt.address, address, since) >= MAX_FAILURES_PER_ADDRESS))
    account = session.execute(select(Account).where(Account.login == login)).scalars().first()
    ok = not throttled and _verify(account.password_hash if account else None, password or "")
    if ok and account.disabled:
        ok, reason = False, "compte désactivé"
    else:
        reason = "trop de tentatives" if throttled else ("identifiant inconnu" if account is None else "mot de passe incorrect")
    session.add(LoginAttempt(at=now, login=login, address=address, success=ok))
    if not ok:
        add_event(session, None, "connexion_refusee", login or "?", now, login=login, address=address, reason=reason)
        return None, THROTTLED if throttled else REFUSED
    return account, None


def sign_in(session: Session, account: Account, now: datetime, hours: int, via: str = "password") -> tuple[str, WebSession]:
    """Open a session for ``account`` (proved by a password or by OpenID Connect).

    Returns the cookie value (random, shown only here) and the session row."""
    if account.disabled:
        raise SignInRefused(REFUSED)
    cookie = secrets.token_urlsafe(32)
    row = WebSession(id=_sha256(cookie), account_id=account.id, csrf_token=secrets.token_urlsafe(32), via=via,
                     created_at=now, expires_at=now + timedelta(hours=hours))
    account.last_login_at = now
    session.add(account)
    session.add(row)
    add_event(session, None, "connexion", account.login, now, via=via)
    return cookie, row


def session_account(session: Session, cookie: str | None, now: datetime) -> tuple[Account, WebSession] | None:
    """The account of a session cookie, or None (unknown, revoked, expired, disabled)."""
    if not cookie:
        return None
    row = session.get(WebSession, _sha256(cookie))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    account = session.get(Account, row.account_id)
    if account is None or account.disabled:
        return None
    return account, row


def sign_out(session: Session, cookie: str | None, now: datetime) -> None:
    if not cookie:
        return
    row = session.get(WebSession, _sha256(cookie))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
        session.add(row)
        account = session.get(Account, row.account_id)
        add_event(session, None, "deconnexion", account.login if account else "?", now)


# --------------------------------------------------------------------------
# Personal API tokens.

TOKEN_PREFIX = "trc_"


def new_token(session: Session, login: str, now: datetime, by: str = "tracer") -> str:
    """A new personal token for ``login``; only its hash is kept, so it is shown once."""
    account = get_account(session, login)
    if account.disabled:
        raise UserError(f"le compte « {account.login} » est désactivé")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(account_id=account.id, token_hash=_sha256(token), created_at=now))
    add_event(session, None, "jeton_cree", by, now, login=account.login)
    return token


def token_account(session: Session, token: str | None, now: datetime) -> Account | None:
    """The enabled account of a Bearer token, or None."""
    if not token:
        return None
    row = session.execute(select(ApiToken).where(ApiToken.token_hash == _sha256(token.strip()))).scalars().first()
    if row is None or row.revoked_at is not None:
        return None
    account = session.get(Account, row.account_id)
    if account is None or account.disabled:
        return None
    return account


# --------------------------------------------------------------------------
# Single sign-on (OpenID Connect): the provider vouches for an e-mail address.

SSO_UNKNOWN = ("Aucun compte tracer n'est associé à l'adresse « {email} ». Demandez à l'administrateur de "
               "tracer de vous créer un compte avec cette adresse.")
SSO_DISABLED = "Le compte tracer associé à l'adresse « {email} » est désactivé. Adressez-vous à l'administrateur de tracer."
SSO_AMBIGUOUS = ("Plusieurs comptes tracer portent l'adresse « {email} » : l'administrateur doit n'en garder qu'un "
                 "pour la connexion unique.")


def match_sso(session: Session, email: str, subject: str | None, issuer: str, address: str | None,
              now: datetime) -> tuple[Account | None, str | None]:
    """``(account, None)`` for the enabled account of the address an identity provider
    vouches for, else ``(None, French message)`` and a ``connexion_refusee`` event
    (unknown address, disabled account, several accounts). The caller commits either way."""
    email = (email or "").strip().lower()
    found = list(session.execute(select(Account).where(Account.email == email)).scalars())
    enabled = [a for a in found if not a.disabled]
    if len(enabled) == 1:
        return enabled[0], None
    if len(enabled) > 1:
        reason, message, login = "adresse de plusieurs comptes", SSO_AMBIGUOUS, "?"
    elif found:
        reason, message, login = "compte désactivé", SSO_DISABLED, found[0].login
    else:
        reason, message, login = "adresse inconnue", SSO_UNKNOWN, "?"
    add_event(session, None, "connexion_refusee", login, now, login=None if login == "?" else login, email=email,
              address=address, reason=reason, via="oidc", issuer=issuer, subject=subject)
    return None, message.format(email=email)


def assignable(session: Session, service: str | None) -> list[Account]:
    """Enabled accounts a request of ``service`` may be given to: its agents, and the référents."""
    rows = session.execute(
        select(Account).where(Account.disabled.is_(False), Account.role.in_(("agent", "referent"))).order_by(Account.login)
    ).scalars()
    return [a for a in rows if a.role == "referent" or (service and service in (a.services or []))]
