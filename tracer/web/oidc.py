"""OpenID Connect single sign-on (``[web.oidc]``): the authorization code flow with PKCE.

authlib makes and checks the protocol's pieces: the random ``state``, ``nonce``
and PKCE verifier (S256 challenge), the authorization address, and the ID
token's claims (``iss``, ``aud``, ``exp``, ``iat``, ``nonce``, ``at_hash``; the
signature checked against the provider's JWKS with joserfc, authlib's JOSE
layer). httpx talks to the provider: discovery from the issuer
(``/.well-known/openid-configuration``), the token endpoint (client secret
from the environment variable ``client_secret_env``), the JWKS and userinfo.

The flow's pending values travel in an HttpOnly, SameSite=Lax cookie scoped to
``/connexion/oidc`` for ten minutes: the return is accepted only with the
``state`` this browser was given (no sign-in forced on someone else), and the
ID token only with its ``nonce``.

Who the person is in tracer is decided by the service layer
(:func:`tracer.register.accounts.match_sso`): the e-mail the provider vouches
for, matched to an enabled account.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import os
import time
from dataclasses import dataclass

import httpx
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

log = logging.getLogger("tracer.web")

PENDING_COOKIE = "tracer_oidc"
PENDING_PATH = "/connexion/oidc"
PENDING_SECONDS = 600
RETURN_PATH = "/connexion/oidc/retour"
SCOPES = "openid email profile"
TIMEOUT = 10
METADATA_SECONDS = 3600

UNAVAILABLE = ("Le fournisseur d'identité ne répond pas ou a répondu de façon inattendue : réessayez dans "
               "quelques minutes, ou connectez-vous avec votre identifiant et votre mot de passe.")
NOT_CONFIGURED = "La connexion unique est mal configurée : prévenez l'administrateur de tracer."
EXPIRED = "La connexion unique a expiré ou a été interrompue : recommencez."
CANCELLED = "La connexion unique a été annulée ou refusée par le fournisseur d'identité."
NO_EMAIL = ("Le fournisseur d'identité n'a pas transmis d'adresse électronique vérifiée : "
            "la connexion unique est impossible.")


class OidcError(Exception):
    """The flow failed; ``str(exc)`` is a French sentence for the page, ``detail`` goes to the log."""

    def __init__(self, message: str, detail: str = ""):
        super().__init__(message)
        self.detail = detail or message


@dataclass
class Provider:
    issuer: str
    client_id: str
    client_secret: str
    metadata: dict
    jwks: dict | None = None
    loaded_at: float = 0.0


def _http() -> httpx.Client:
    return httpx.Client(timeout=TIMEOUT, follow_redirects=False, headers={"Accept": "application/json"})


def _json(response: httpx.Response, what: str) -> dict:
    if response.status_code != 200:
        raise OidcError(UNAVAILABLE, f"{what} : HTTP {response.status_code} {response.text[:200]!r}")
    try:
        data = response.json()
    except ValueError:
        raise OidcError(UNAVAILABLE, f"{what} : réponse non JSON") from None
    if not isinstance(data, dict):
        raise OidcError(UNAVAILABLE, f"{what} : objet JSON attendu")
    return data


def provider_for(app) -> Provider:
    """The configured provider, its discovery document fetched once an hour."""
    cfg = app.state.runtime.cfg.web.oidc
    cached = getattr(app.state, "oidc_provider", None)
    if cached is not None and time.monotonic() - cached.loaded_at < METADATA_SECONDS:
        return cached
    secret = os.environ.get(cfg.client_secret_env or "", "")
    if not secret:
        raise OidcError(NOT_CONFIGURED, f"variable d'environnement {cfg.client_secret_env} vide ou absente")
    issuer = cfg.issuer.rstrip("/")
    try:
        with _http() as http:
            metadata = _json(http.get(issuer + "/.well-known/openid-configuration"), "découverte")
    except httpx.HTTPError as exc:
        raise OidcError(UNAVAILABLE, f"découverte : {exc.__class__.__name__}") from None
    if (metadata.get("issuer") or "").rstrip("/") != issuer:
        raise OidcError(NOT_CONFIGURED, f"l'émetteur annoncé {metadata.get('issuer')!r} n'est pas {issuer!r}")
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(metadata.get(key), str):
            raise OidcError(UNAVAILABLE, f"découverte : {key} absent")
    provider = Provider(metadata["issuer"], cfg.client_id, secret, metadata, loaded_at=time.monotonic())
    app.state.oidc_provider = provider
    return provider


def _encode(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(value: str | None) -> dict | None:
    if not value:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except ValueError:
        return None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("state", "nonce", "verifier")):
        return None
    if not isinstance(data.get("at"), (int, float)) or time.time() - data["at"] > PENDING_SECONDS:
        return None
    return data


def begin(provider: Provider, redirect_uri: str, target: str) -> tuple[str, str]:
    """The provider's authorization address, and the pending cookie's value."""
    pending = {"state": generate_token(32), "nonce": generate_token(32), "verifier": generate_token(64),
               "next": target, "at": int(time.time())}
    url = add_params_to_uri(provider.metadata["authorization_endpoint"], [
        ("response_type", "code"),
        ("client_id", provider.client_id),
        ("redirect_uri", redirect_uri),
        ("scope", SCOPES),
        ("state", pending["state"]),
        ("nonce", pending["nonce"]),
        ("code_challenge", create_s256_code_challenge(pending["verifier"])),
        ("code_challenge_method", "S256"),
    ])
    return url, _encode(pending)


def _jwks(provider: Provider, http: httpx.Client, force: bool = False) -> KeySet:
    if provider.jwks is None or force:
        provider.jwks = _json(http.get(provider.metadata["jwks_uri"]), "JWKS")
    return KeySet.import_key_set(provider.jwks)


def _id_token_claims(provider: Provider, http: httpx.Client, token: dict, nonce: str) -> dict:
    raw = token.get("id_token")
    if not isinstance(raw, str):
        raise OidcError(UNAVAILABLE, "réponse du jeton sans id_token")
    registry = JWSRegistry(algorithms=provider.metadata.get("id_token_signing_alg_values_supported") or ["RS256"],
                           strict_check_header=False)
    try:
        try:
            decoded = jwt.decode(raw, _jwks(provider, http), registry=registry)
        except JoseError:
            decoded = jwt.decode(raw, _jwks(provider, http, force=True), registry=registry)  # keys rotated
        claims = CodeIDToken(decoded.claims, decoded.header,
                             {"iss": {"essential": True, "values": [provider.issuer]},
                              "aud": {"essential": True, "values": [provider.client_id]}},
                             {"nonce": nonce, "client_id": provider.client_id, "access_token": token.get("access_token")})
        claims.validate(leeway=120)
    except (JoseError, ValueError) as exc:
        raise OidcError(UNAVAILABLE, f"id_token refusé : {exc.__class__.__name__} {exc}") from None
    return dict(claims)


def finish(provider: Provider, redirect_uri: str, pending_cookie: str | None, params: dict) -> tuple[dict, str]:
    """Check the provider's return and exchange its code: ``(identity claims, target)``.

    The claims hold ``sub`` and ``email`` (from the ID token, completed by userinfo)."""
    pending = _decode(pending_cookie)
    if pending is None:
        raise OidcError(EXPIRED, "retour sans flux en cours (cookie absent, invalide ou expiré)")
    if not hmac.compare_digest((params.get("state") or "").encode(), pending["state"].encode()):
        raise OidcError(EXPIRED, "retour avec un state qui n'est pas celui de ce navigateur")
    if params.get("error"):
        raise OidcError(CANCELLED, f"erreur du fournisseur : {params.get('error')} {params.get('error_description') or ''}")
    if params.get("iss") and params["iss"].rstrip("/") != provider.issuer.rstrip("/"):
        raise OidcError(EXPIRED, f"retour d'un autre émetteur {params['iss']!r}")
    code = params.get("code")
    if not code:
        raise OidcError(EXPIRED, "retour sans code")
    try:
        with _http() as http:
            token = _json(http.post(provider.metadata["token_endpoint"], data={
                "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "code_verifier": pending["verifier"],
            }, auth=(provider.client_id, provider.client_secret)), "jeton")
            claims = _id_token_claims(provider, http, token, pending["nonce"])
            endpoint = provider.metadata.get("userinfo_endpoint")
            if endpoint and token.get("access_token") and not claims.get("email"):
                info = _json(http.get(endpoint, headers={"Authorization": f"Bearer {token['access_token']}"}),
                             "userinfo")
                if info.get("sub") != claims.get("sub"):
                    raise OidcError(UNAVAILABLE, "userinfo d'un autre sujet que l'id_token")
                claims = {**info, **{k: v for k, v in claims.items() if k in ("sub", "iss", "aud")}}
    except httpx.HTTPError as exc:
        raise OidcError(UNAVAILABLE, f"échange du code : {exc.__class__.__name__}") from None
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or claims.get("email_verified") is False:
        raise OidcError(NO_EMAIL, f"sujet {claims.get('sub')!r} sans adresse vérifiée")
    return claims, pending.get("next") or ""
