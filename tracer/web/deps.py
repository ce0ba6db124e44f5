"""Typed dependencies of the handlers: the runtime, database sessions, the signed-in user.

``CurrentUser`` is the signed-in account's :class:`User` (a session cookie, or a
Bearer token under ``/api/``); without one, a page redirects to ``/connexion``
and the API answers 401. A revoked or expired session or a disabled account is
signed out here, at its next request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Iterator

from fastapi import Depends, HTTPException, Request
from sqlmodel import Session

from tracer.core import clock
from tracer.register import accounts
from tracer.services import Runtime
from tracer.store import db

SESSION_COOKIE = "tracer_session"
PRE_SESSION_COOKIE = "tracer_csrf"  # double-submit token of the sign-in form


class SignInRequired(Exception):
    """No valid session: a page goes to /connexion, the API answers 401."""


@dataclass(frozen=True)
class User:
    """The signed-in account: its scope, and the CSRF token of its session (None with a token)."""

    scope: accounts.Scope
    csrf_token: str | None
    via: str  # "session" | "token"

    @property
    def login(self) -> str:
        return self.scope.login

    @property
    def role(self) -> str:
        return self.scope.role

    @property
    def services(self) -> list[str] | None:
        return self.scope.services

    def may(self, action: str) -> bool:
        return self.scope.may(action)


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def read_session(request: Request) -> Iterator[Session]:
    """A read-only session (pages and API reads)."""
    with db.read_scope(request.app.state.engine) as session:
        yield session


def write_session(request: Request) -> Iterator[Session]:
    """A session committed when the handler returns, rolled back on error."""
    with db.session_scope(request.app.state.engine) as session:
        yield session


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def resolve_user(request: Request) -> User | None:
    """The user of this request (cached on it), or None."""
    if "user" in request.state._state:
        return request.state.user
    user = None
    now = clock.now()
    with db.read_scope(request.app.state.engine) as session:
        token = bearer_token(request) if request.url.path.startswith("/api/") else None
        if token is not None:
            account = accounts.token_account(session, token, now)
            if account is not None:
                user = User(accounts.scope_of(account), None, "token")
        else:
            found = accounts.session_account(session, request.cookies.get(SESSION_COOKIE), now)
            if found is not None:
                account, row = found
                user = User(accounts.scope_of(account), row.csrf_token, "session")
    request.state.user = user
    return user


def current_user(request: Request) -> User:
    user = resolve_user(request)
    if user is None:
        raise SignInRequired()
    return user


def reader_user(user: Annotated[User, Depends(current_user)]) -> User:
    """A user who may read requests (everyone but the administrator)."""
    if not user.scope.reads_requests:
        raise HTTPException(403, "Votre rôle ne donne pas accès au contenu des demandes.")
    return user


def require(action: str):
    """A dependency: the signed-in user may do ``action`` (``accounts.ACTIONS``), else 403."""

    def check(user: Annotated[User, Depends(current_user)]) -> User:
        if not user.may(action):
            raise HTTPException(403, "Votre rôle ne permet pas cette action.")
        return user

    return check


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
ReadSession = Annotated[Session, Depends(read_session)]
WriteSession = Annotated[Session, Depends(write_session)]
CurrentUser = Annotated[User, Depends(current_user)]
ReaderUser = Annotated[User, Depends(reader_user)]
