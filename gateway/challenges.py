"""Login challenges: single-use, short-lived, bound to one address and this gateway.

The client signs the challenge text with its ML-DSA-65 key under the context
`qcity-login-v1`, a signature domain that never mixes with session tokens (RFC 9964 JWS
signatures use the empty context).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from gateway.errors import (
    ChallengeExpired,
    ChallengeReused,
    ChallengeUnknown,
    TooManyChallenges,
)

LOGIN_CONTEXT = b"qcity-login-v1"
"""ML-DSA context string for login signatures."""

_FORMAT = "qcity-login-v1\naud: {aud}\naddress: {address}\nnonce: {nonce}\nissued_at: {iat}"
_KEM_LINE = "\nkem: {kem}"
"""Present when the client binds a KEM key to the session: its signature then covers it."""
_PARSE = re.compile(
    r"\Aqcity-login-v1\naud: (?P<aud>[^\n]+)\naddress: (?P<address>0x[0-9a-fA-F]{40})\n"
    r"nonce: (?P<nonce>[A-Za-z0-9_-]{16,64})\nissued_at: (?P<iat>\d{1,12})"
    r"(?:\nkem: (?P<kem>[A-Za-z0-9_-]{43}))?\Z"
)


@dataclass(frozen=True, slots=True)
class Challenge:
    """An issued challenge: `text` is exactly what the client signs."""

    address: str
    nonce: str
    issued_at: int
    expires_at: int
    text: str
    kem: str | None = None
    """SHA-256 thumbprint (base64url) of the KEM key the session will be bound to."""


class ChallengeBook:
    """Issues challenges and consumes each at most once.

    State lives in this process: a multi-worker deployment needs sticky sessions for the
    two login calls (or this class backed by the shared store).
    """

    def __init__(
        self, *, audience: str, ttl_s: int, max_pending: int = 100_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._aud = audience
        self._ttl = ttl_s
        self._max_pending = max_pending
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[str, Challenge] = {}
        self._used: dict[str, int] = {}  # nonce -> issued_at, kept to name reuse as reuse

    def issue(self, address: str, kem: str | None = None) -> Challenge:
        """A fresh challenge for `address` (checksummed by the caller); `kem`, a KEM key's
        thumbprint, goes into the signed text so the login signature binds it."""
        now = int(self._clock())
        nonce = secrets.token_urlsafe(32)
        text = _FORMAT.format(aud=self._aud, address=address, nonce=nonce, iat=now)
        if kem is not None:
            text += _KEM_LINE.format(kem=kem)
        challenge = Challenge(address, nonce, now, now + self._ttl, text, kem)
        with self._lock:
            self._purge(now)
            if len(self._pending) >= self._max_pending:
                self._purge(now, horizon=now - self._ttl)  # unauthenticated callers: a hard cap
                if len(self._pending) >= self._max_pending:
                    raise TooManyChallenges()
            self._pending[nonce] = challenge
        return challenge

    def consume(self, text: str) -> Challenge:
        """Mark the challenge used and return it; raises when unknown, reused or too old."""
        match = _PARSE.match(text)
        if match is None:
            raise ChallengeUnknown("The challenge text was not issued by this gateway.")
        nonce = match["nonce"]
        now = int(self._clock())
        with self._lock:
            if nonce in self._used:
                raise ChallengeReused()
            challenge = self._pending.pop(nonce, None)
            if challenge is not None:
                self._used[nonce] = challenge.issued_at
        if challenge is None:
            if int(match["iat"]) + self._ttl <= now:
                raise ChallengeExpired()  # purged long ago: the text itself shows its age
            raise ChallengeUnknown()
        if challenge.text != text:
            raise ChallengeUnknown("The challenge text was altered.")
        if now >= challenge.expires_at:
            raise ChallengeExpired()
        return challenge

    def _purge(self, now: int, horizon: int | None = None) -> None:
        """Forget challenges long past their expiry (their text still shows their age)."""
        horizon = now - 10 * self._ttl if horizon is None else horizon
        if len(self._pending) > 1024:
            for nonce in [n for n, c in self._pending.items() if c.issued_at < horizon]:
                del self._pending[nonce]
        if len(self._used) > 1024:
            for nonce in [n for n, iat in self._used.items() if iat < horizon]:
                del self._used[nonce]
