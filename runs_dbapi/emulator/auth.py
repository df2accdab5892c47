"""Bearer-token checks and the OAuth2 / IAM endpoints google-auth talks to.

Requests are anonymous unless `required` is set. The token endpoint issues tokens for
service-account JWT assertions (key files whose `token_uri` points here) and refresh tokens;
the IAM endpoint issues tokens for impersonation. Signatures are not verified: the emulator has no
keys to check them against, and it only stands in for Google in tests.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from .errors import ApiError

TOKEN_LIFETIME = 3600
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class OAuthError(Exception):
    """An RFC 6749 error answer of the token endpoint (400 with error / error_description)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def _jwt_claims(assertion: str) -> dict[str, Any]:
    try:
        _, payload, _ = assertion.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError as exc:
        raise OAuthError("invalid_grant", "Invalid JWT: malformed assertion.") from exc
    if not isinstance(claims, dict):
        raise OAuthError("invalid_grant", "Invalid JWT: claims must be an object.")
    return claims


class TokenAuthority:
    def __init__(self, required: bool = False, tokens: tuple[str, ...] = ()) -> None:
        self.required = required
        self._lock = threading.Lock()
        self._principals: dict[str, str] = dict.fromkeys(tokens, "static")

    def issue(self, principal: str) -> str:
        token = "ya29.emulator-" + secrets.token_urlsafe(24)
        with self._lock:
            self._principals[token] = principal
        return token

    def principal(self, token: str) -> str | None:
        with self._lock:
            return self._principals.get(token)

    def check(self, authorization: str | None) -> None:
        """Raise 401 UNAUTHENTICATED unless the request carries an issued bearer token."""
        if not self.required:
            return
        if not authorization:
            raise ApiError(
                "UNAUTHENTICATED",
                "Request is missing required authentication credential. Expected OAuth 2 access "
                "token, login cookie or other valid authentication credential.",
                reason="CREDENTIALS_MISSING",
            )
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or self.principal(token.strip()) is None:
            raise ApiError(
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                "login cookie or other valid authentication credential.",
                reason="ACCESS_TOKEN_TYPE_UNSUPPORTED",
            )

    def token_endpoint(self, form: dict[str, list[str]]) -> dict[str, Any]:
        """Answer an OAuth2 token request (service-account JWT grant or refresh token)."""
        grant = (form.get("grant_type") or [""])[0]
        if grant == JWT_BEARER:
            claims = _jwt_claims((form.get("assertion") or [""])[0])
            issuer = claims.get("iss")
            if not isinstance(issuer, str) or not issuer:
                raise OAuthError("invalid_grant", "Invalid JWT: the iss claim is missing.")
            expiry = claims.get("exp")
            if not isinstance(expiry, (int, float)) or expiry < time.time():
                raise OAuthError("invalid_grant", "Invalid JWT: Token must be a short-lived "
                                 "token (60 minutes) and in a reasonable timeframe.")
            principal = issuer
        elif grant == "refresh_token":
            refresh = (form.get("refresh_token") or [""])[0]
            client = (form.get("client_id") or [""])[0]
            if not refresh or not client:
                raise OAuthError("invalid_request", "refresh_token and client_id are required.")
            principal = client
        else:
            raise OAuthError("unsupported_grant_type", f"Invalid grant_type: {grant!r}.")
        return {
            "access_token": self.issue(principal),
            "expires_in": TOKEN_LIFETIME,
            "token_type": "Bearer",
        }

    def generate_access_token(self, service_account: str, body: Any) -> dict[str, Any]:
        """IAM Credentials generateAccessToken, used by impersonated credentials."""
        if not isinstance(body, dict) or not body.get("scope"):
            raise ApiError("INVALID_ARGUMENT", "scope is required.")
        expire = datetime.now(timezone.utc) + timedelta(seconds=TOKEN_LIFETIME)
        return {
            "accessToken": self.issue(service_account),
            # google-auth parses this with "%Y-%m-%dT%H:%M:%SZ": no fraction.
            "expireTime": expire.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
