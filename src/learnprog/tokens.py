"""Signed, expiring tokens for links: invitation acceptance, unsubscribe, report download.

Built on itsdangerous (HMAC-SHA1 over a URL-safe payload). Each token carries a purpose (used as
the salt, so a token made for one purpose never verifies for another) and its signing time,
read from the Clock port so expiry is testable.
"""

from __future__ import annotations

import enum
import re
from datetime import timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from learnprog.clock import Clock
from learnprog.errors import ExpiredTokenError, InvalidTokenError, ValidationError

_TOKEN = re.compile(r"[A-Za-z0-9_\-.]+")
"""Every character a token may hold: the URL-safe base64 alphabet (RFC 4648 section 5, without
padding) and the ``.`` between its parts. Base64 decoding skips other characters, so a token
with them inserted would otherwise verify."""


class TokenPurpose(enum.StrEnum):
    """What a token may be used for."""

    ACCEPT_INVITATION = "accept-invitation"
    UNSUBSCRIBE = "unsubscribe"
    REPORT_DOWNLOAD = "report-download"


class TokenSigner:
    """Signs and verifies link tokens.

    Args:
        secret_key: the signing secret (at least 16 characters); keep it stable, or earlier
            links stop working.
        clock: the source of "now" for signing times and expiry.

    Raises:
        ValidationError: a secret shorter than 16 characters.
    """

    def __init__(self, secret_key: str, clock: Clock) -> None:
        if len(secret_key) < 16:
            raise ValidationError("a signing secret has at least 16 characters", field="secret_key")

        class _ClockSigner(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(clock.now().timestamp())

        self._serializers = {
            p: URLSafeTimedSerializer(secret_key, salt=f"learnprog.{p.value}", signer=_ClockSigner)
            for p in TokenPurpose
        }
        # one signer per purpose, made once: what each ``dumps`` would make anew
        self._signers = {p: s.make_signer() for p, s in self._serializers.items()}

    def sign(self, purpose: TokenPurpose, payload: dict[str, Any]) -> str:
        """Return a URL-safe token holding ``payload`` (JSON-serializable) for ``purpose``.

        The token is the serializer's ``dumps(payload)``, signed by a signer kept per purpose.
        """
        data = self._serializers[purpose].dump_payload(payload)
        return self._signers[purpose].sign(data).decode("utf-8")

    def verify(self, purpose: TokenPurpose, token: str, *, max_age: timedelta) -> dict[str, Any]:
        """Return the payload of a token signed for ``purpose`` at most ``max_age`` ago.

        Raises:
            InvalidTokenError: the token is forged, altered, made for another purpose, not a
                mapping, or expired (then an :class:`ExpiredTokenError`; the message says
                which). A token holding any character
                outside the URL-safe base64 alphabet and ``.`` (a space, ``=`` padding, a
                non-ASCII letter) is refused before it is decoded: base64 decoding would skip
                it, so an altered token would verify.
        """
        if not isinstance(token, str) or len(token) > 4096 or not _TOKEN.fullmatch(token):
            raise InvalidTokenError("the link is not valid", field="token")
        try:
            payload = self._serializers[purpose].loads(token, max_age=int(max_age.total_seconds()))
        except SignatureExpired as exc:
            raise ExpiredTokenError("the link has expired", field="token") from exc
        except (BadSignature, UnicodeError, ValueError, TypeError) as exc:
            raise InvalidTokenError("the link is not valid", field="token") from exc
        if not isinstance(payload, dict):
            raise InvalidTokenError("the link is not valid", field="token")
        return payload
