"""Opaque, tamper-evident page tokens bound to the request that produced them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from typing import Any

from .errors import invalid


class PageTokens:
    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def _binding(self, request: Sequence[Any]) -> str:
        digest = hashlib.sha256(json.dumps(list(request)).encode()).hexdigest()
        return digest[:16]

    def encode(self, request: Sequence[Any], key: Sequence[Any]) -> str:
        payload = json.dumps({"b": self._binding(request), "k": list(key)},
                             separators=(",", ":")).encode()
        mac = hmac.new(self._secret, payload, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(mac + payload).decode().rstrip("=")

    def decode(self, token: str, request: Sequence[Any]) -> list[Any]:
        """Return the sort key a token resumes after; 400 if forged or made for other params."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            mac, payload = raw[:12], raw[12:]
            if not hmac.compare_digest(mac, hmac.new(self._secret, payload,
                                                     hashlib.sha256).digest()[:12]):
                raise ValueError("bad signature")
            data = json.loads(payload)
        except ValueError as exc:
            raise invalid(f"Invalid page token: {token!r}.") from exc
        if data.get("b") != self._binding(request):
            raise invalid(
                "The page token does not match the request: when paginating, every other "
                "parameter must match the call that provided the page token."
            )
        key = data.get("k")
        if not isinstance(key, list):
            raise invalid(f"Invalid page token: {token!r}.")
        return key
