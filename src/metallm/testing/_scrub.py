"""Keeping secrets out of recorded exchanges: header allow-lists, credential parameters, masks.

A recording is meant to be committed next to the tests that replay it, so nothing that can
authenticate may reach the file. Three layers, each enough on its own for what it covers:

- **Headers by allow-list.** Only the headers named in :data:`REQUEST_HEADERS` /
  :data:`RESPONSE_HEADERS` (plus a recorder's ``keep_headers``) are written; every other header
  (``authorization``, ``x-api-key``, ``x-goog-api-key``, ``api-key``, cookies, the SigV4
  ``x-amz-*`` ones) is dropped. Headers that carry credentials by design
  (:data:`NEVER_KEPT`) cannot be allow-listed at all.
- **Credential query parameters dropped** (:func:`clean_target`): ``key=``, ``api_key=``,
  ``access_token=``, ``sig=`` / ``signature=``, and every ``X-Amz-*`` / ``X-Goog-*`` parameter of
  a presigned URL. Dropping them (rather than masking) also keeps a request's match key the
  same from one run to the next, since a signature and its date change with every request.
- **Masks over everything else** (:class:`Scrubber`): in the request path, kept header values,
  request and response bodies and notes, every spelling of the client's secrets that
  :func:`metallm.errors.secret_forms` knows (repr-, JSON- and percent-escaped), and anything
  shaped like a known key or token (:data:`KEY_SHAPES`), are overwritten by a mask of the
  same length. Same length on purpose: a stream's recorded piece sizes stay true, and a JSON
  text stays valid JSON (the masks are plain letters). An AWS event stream (Bedrock's binary
  ConverseStream) that had something masked gets its frames' CRCs recomputed
  (:func:`reframe_event_stream`), so it still decodes on replay.
"""

from __future__ import annotations

import functools
import re
import zlib
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from metallm.errors import secret_forms

__all__ = [
    "KEY_SHAPES",
    "NEVER_KEPT",
    "REQUEST_HEADERS",
    "RESPONSE_HEADERS",
    "Scrubber",
    "clean_target",
    "is_credential_param",
    "mask",
    "reframe_event_stream",
]

REQUEST_HEADERS = frozenset(
    {"content-type", "accept", "anthropic-version", "anthropic-beta", "openai-beta", "api-version"}
)
"""Request headers a recording keeps: the ones that change what the API does (as the shared
corpus keeps them); never the ones that say who is calling."""

RESPONSE_HEADERS = frozenset(
    {
        "content-type",
        "request-id",
        "x-request-id",
        "x-goog-request-id",
        "x-amzn-requestid",
        "x-amzn-errortype",
        "x-amzn-bedrock-input-token-count",
        "retry-after",
        "retry-after-ms",
        "x-should-retry",
    }
)
"""Response headers a recording keeps: what the codecs and the retry policy read (content type,
request ids, Bedrock's error type and token count, retry hints)."""

NEVER_KEPT = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "x-amz-security-token",
        "ocp-apim-subscription-key",
    }
)
"""Headers that carry credentials by design: refused in ``keep_headers``."""

_CREDENTIAL_PARAMS = frozenset(
    {"key", "api_key", "api-key", "apikey", "access_token", "token", "sig", "signature"}
)
_CREDENTIAL_PREFIXES = ("x-amz-", "x-goog-")

_B = r"(?<![A-Za-z0-9+/_\-])"  # not inside a longer token (base64 and ids stay whole)
KEY_SHAPES: dict[str, str] = {
    "anthropic": _B + r"sk-ant-[A-Za-z0-9]+\d\d-[A-Za-z0-9_\-]{20,}",
    "openai-style sk-": _B + r"sk-(?=[A-Za-z0-9_\-]*\d)[A-Za-z0-9_\-]{20,}",
    "google": _B + r"AIza[0-9A-Za-z_\-]{35}",
    "xai": _B + r"xai-[A-Za-z0-9]{40,}",
    "groq": _B + r"gsk_[A-Za-z0-9]{20,}",
    "perplexity": _B + r"pplx-[A-Za-z0-9]{20,}",
    "cerebras": _B + r"csk-[A-Za-z0-9]{20,}",
    "fireworks": _B + r"fw_[A-Za-z0-9]{20,}",
    "hugging face": _B + r"hf_[A-Za-z0-9]{20,}",
    "aws access key id": _B + r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])",
    "jwt": _B + r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
    "bearer token": r"(?<=[Bb]earer )[A-Za-z0-9._~+/=\-]{8,}",
    "sigv4 signature": r"(?i:(?<=signature=))[0-9a-f]{64}",
    "security token": r"(?i:(?<=security-token=))[A-Za-z0-9%/+=]{16,}",
}
"""Secret shapes masked wherever they appear, whoever's they are: provider API keys (OpenAI,
Anthropic, DeepSeek and OpenRouter ``sk-``, Google ``AIza``, xAI, Groq, Perplexity, Cerebras,
Fireworks, Hugging Face), AWS access key ids, JWTs (Entra ID and other bearer tokens), any
``Bearer`` token, SigV4 signatures and session tokens in echoed URLs. Each starts at a token
boundary, so base64 blobs (encrypted reasoning, vectors) are not cut into. The whole of a
match is the secret (what leads it is a lookbehind), so a scan with these patterns finds
exactly what a recording must not hold."""

_ANCHORS: dict[str, tuple[tuple[str, ...], int]] = {
    "anthropic": (("sk-ant-",), 0),
    "openai-style sk-": (("sk-",), 0),
    "google": (("AIza",), 0),
    "xai": (("xai-",), 0),
    "groq": (("gsk_",), 0),
    "perplexity": (("pplx-",), 0),
    "cerebras": (("csk-",), 0),
    "fireworks": (("fw_",), 0),
    "hugging face": (("hf_",), 0),
    "aws access key id": (("AKIA", "ASIA", "ABIA", "ACCA"), 0),
    "jwt": (("eyJ",), 0),
    "bearer token": (("Bearer ", "bearer "), 7),
    "sigv4 signature": (("Signature=", "signature=", "SIGNATURE="), 10),
    "security token": (("Security-Token=", "security-token=", "SECURITY-TOKEN="), 15),
}
"""Where each shape can start: literal prefixes found with ``str.find`` (C speed), and the
offset of the secret from the prefix. A shape's pattern is tried only there, which keeps a
recording of a long stream cheap (one pass of plain searches, not a regex at every position)."""

_SHAPES = tuple(
    (prefixes, offset, re.compile(KEY_SHAPES[name]))
    for name, (prefixes, offset) in _ANCHORS.items()
)
_MASK = "REDACTED"


def mask(length: int) -> str:
    """A mask of exactly ``length`` characters (letters only): ``REDACTEDREDA...``."""
    return (_MASK * (length // len(_MASK) + 1))[:length]


@functools.lru_cache(maxsize=64)
def _forms(secrets: tuple[str, ...]) -> tuple[str, ...]:
    """Every form of every secret (4 characters or more), longest first; built once per set."""
    forms = {form for secret in secrets if len(secret) >= 4 for form in secret_forms(secret)}
    return tuple(sorted(forms, key=lambda f: (-len(f), f)))


def _spans(text: str, forms: tuple[str, ...]) -> list[tuple[int, int]]:
    """Where ``text`` holds a secret form or a key shape, as merged ``(start, end)`` spans."""
    found: list[tuple[int, int]] = []
    for form in forms:
        at = text.find(form)
        while at >= 0:
            found.append((at, at + len(form)))
            at = text.find(form, at + len(form))
    for prefixes, offset, pattern in _SHAPES:
        for prefix in prefixes:
            at = text.find(prefix)
            while at >= 0:
                match = pattern.match(text, at + offset)
                if match is not None:
                    found.append(match.span())
                at = text.find(prefix, match.end() if match is not None else at + 1)
    if not found:
        return found
    found.sort()
    merged = [found[0]]
    for start, end in found[1:]:
        last_start, last_end = merged[-1]
        if start < last_end:
            merged[-1] = (last_start, max(last_end, end))
        else:
            merged.append((start, end))
    return merged


def is_credential_param(name: str) -> bool:
    """Whether a query parameter carries a credential (dropped from recorded paths)."""
    lowered = name.lower()
    return lowered in _CREDENTIAL_PARAMS or lowered.startswith(_CREDENTIAL_PREFIXES)


def clean_target(url: str) -> tuple[str, str]:
    """``(stored, matched)`` forms of a URL's path and query, credential parameters dropped.

    ``stored`` keeps the path as sent (percent-encoding included) and the other parameters in
    their order, as a corpus file's ``request.path``. ``matched`` is what request matching
    compares: the path percent-decoded and the parameters sorted, so ``%3A`` and ``:`` (or a
    reordered query) are the same request.
    """
    parts = urlsplit(url)
    path = parts.path or "/"
    kept = [
        piece
        for piece in parts.query.split("&")
        if piece and not is_credential_param(unquote(piece.partition("=")[0]))
    ]
    stored = path + ("?" + "&".join(kept) if kept else "")
    pairs = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not is_credential_param(k)
    )
    query = "&".join(f"{k}={v}" for k, v in pairs)
    return stored, unquote(path) + ("?" + query if query else "")


class Scrubber:
    """Masks the secrets of one client (plus a recorder's own) and every known key shape."""

    __slots__ = ("_forms", "changes")

    def __init__(self, secrets: Iterable[str]) -> None:
        self._forms = _forms(tuple(sorted({s for s in secrets if s})))
        self.changes = 0
        """How many strings were masked so far (a recording's notes say so)."""

    def text(self, text: str) -> str:
        """``text`` with every secret form and key shape masked (same length)."""
        spans = _spans(text, self._forms)
        if not spans:
            return text
        self.changes += len(spans)
        out, last = [], 0
        for start, end in spans:
            out.append(text[last:start])
            out.append(mask(end - start))
            last = end
        out.append(text[last:])
        return "".join(out)

    def data(self, data: bytes) -> bytes:
        """Bytes masked the same way (read as Latin-1, so every byte keeps its place)."""
        return self.text(data.decode("latin-1")).encode("latin-1")

    def value(self, value: Any) -> Any:
        """A parsed JSON value with every string masked (keys included)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value

    def headers(self, headers: Mapping[str, str], keep: frozenset[str]) -> dict[str, str]:
        """The allow-listed headers (lower-case names), their values masked."""
        return {
            name.lower(): self.text(str(value))
            for name, value in headers.items()
            if name.lower() in keep and name.lower() not in NEVER_KEPT
        }


def reframe_event_stream(data: bytes) -> bytes:
    """AWS event-stream frames with both CRC-32s recomputed (after a same-length mask).

    A frame is ``total length | headers length | prelude CRC | headers | payload | message
    CRC`` (big-endian); the lengths are unchanged by masking, so only the checksums need
    computing again. Bytes that do not parse as frames are left as they are.
    """
    out = bytearray(data)
    start = 0
    while start + 16 <= len(out):
        total = int.from_bytes(out[start : start + 4], "big")
        end = start + total
        if total < 16 or end > len(out):
            break
        out[start + 8 : start + 12] = zlib.crc32(out[start : start + 8]).to_bytes(4, "big")
        out[end - 4 : end] = zlib.crc32(out[start : end - 4]).to_bytes(4, "big")
        start = end
    return bytes(out)
