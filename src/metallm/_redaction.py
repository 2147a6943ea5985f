"""Keeping secrets out of every text metallm lets go of: a key in any spelling it may take.

A key can reach a message literally, or escaped: Python's repr (``b'Bearer sk-...'`` of a bad
header value), JSON, percent-encoding (AWS secret keys hold ``/`` and ``+``, which a signed URL
shows as ``%2F`` and ``%2B``). :func:`secret_forms` lists those spellings and :func:`redact`
replaces all of them, with one compiled pattern per set of secrets (cached; a key of plain
letters and digits has one form and stays a plain string search). :mod:`metallm.errors`
re-exports these and adds ``scrub``, which cleans an error in place.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["contains_secret", "excerpt", "redact", "redact_value", "secret_forms"]

_EXCERPT = 300
_MARKER = "[REDACTED]"
_MIN_SECRET = 4
_PERCENT = re.compile(r"%[0-9A-F]{2}")


def secret_forms(secret: str) -> tuple[str, ...]:
    """Every way ``secret`` can be spelled in a text that leaves the library, longest first.

    A key is checked at construction (printable ASCII only), but printable specials change
    when a text quotes it: a Python ``repr``/``ascii`` (of a string or of bytes, such as
    ``b'Bearer ...'``) doubles ``\\`` and escapes a quote, JSON escapes ``\\`` and ``"`` (and
    some encoders ``/``), and a URL or a signed query percent-encodes (``quote``/``quote_plus``:
    an AWS secret key's ``/`` and ``+`` become ``%2F``/``%2B``, hex in either case). One level
    of quoting inside another (the ``repr`` of a JSON body) is covered too. The literal is
    always first among equals; a key of plain letters and digits has that one form only.
    """
    forms: set[str] = {secret}
    for escaped in _escapes(secret):
        forms.add(escaped)
        forms.update(_escapes(escaped))
    for safe in ("", "/"):
        for encoded in (quote(secret, safe=safe), quote_plus(secret, safe=safe)):
            forms.add(encoded)
            forms.add(_PERCENT.sub(lambda m: m.group(0).lower(), encoded))
    forms.discard("")
    return tuple(sorted(forms, key=lambda f: (-len(f), f != secret, f)))


def _escapes(text: str) -> set[str]:
    """``text`` as a Python ``repr`` body (either quote escaped, or none) and a JSON string."""
    backslashed = text.replace("\\", "\\\\")
    json_body = json.dumps(text)[1:-1]
    return {
        backslashed,
        backslashed.replace("'", "\\'"),
        backslashed.replace('"', '\\"'),
        backslashed.replace("'", "\\'").replace('"', '\\"'),
        json_body,
        json_body.replace("/", "\\/"),
    }


@functools.lru_cache(maxsize=64)
def _matcher(secrets: tuple[str, ...]) -> tuple[tuple[str, ...], re.Pattern[str]] | None:
    """Every form of every secret, and one compiled pattern for them all (None: nothing to
    hide), built once per set of secrets: a client's set never changes, so its first use
    pays and every later one is a cache hit."""
    forms = {
        form for secret in secrets if secret and len(secret) >= _MIN_SECRET
        for form in secret_forms(secret)
    }  # fmt: skip
    if not forms:
        return None
    ordered = tuple(sorted(forms, key=lambda f: (-len(f), f)))  # longest first: no leftovers
    return ordered, re.compile("|".join(re.escape(form) for form in ordered))


def redact(text: str, secrets: tuple[str, ...] | list[str]) -> str:
    """Replace every secret in ``text``, in any of its :func:`secret_forms`, by a fixed marker;
    secrets shorter than 4 chars are kept (they would match everywhere)."""
    if not secrets:
        return text
    found = _matcher(secrets if type(secrets) is tuple else tuple(secrets))
    if found is None:
        return text
    forms, pattern = found
    if len(forms) == 1:  # the usual key (letters, digits, ``-``, ``_``): plain string search
        form = forms[0]
        return text.replace(form, _MARKER) if form in text else text
    return pattern.sub(_MARKER, text)


def contains_secret(text: str, secrets: tuple[str, ...] | list[str]) -> bool:
    """Whether ``text`` holds any of the secrets, in any of their :func:`secret_forms`."""
    if not secrets:
        return False
    found = _matcher(secrets if type(secrets) is tuple else tuple(secrets))
    if found is None:
        return False
    forms, pattern = found
    if len(forms) == 1:
        return forms[0] in text
    return pattern.search(text) is not None


def redact_value(value: Any, secrets: tuple[str, ...] | list[str]) -> Any:
    """A parsed body with every string redacted (dicts and lists walked, keys included)."""
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {redact_value(k, secrets): redact_value(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_value(v, secrets) for v in value)
    return value


def excerpt(body: bytes | str, limit: int = _EXCERPT) -> str:
    """A short, printable head of a body, for error messages."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
