"""No recorded file holds a secret: the client's keys in every spelling, tokens, AWS signatures.

The server here is hostile on purpose: it echoes every request header it got (the bearer token,
``x-api-key``, ``x-goog-api-key``, Bedrock's SigV4 ``authorization`` and session token) back in
the reply text and in an allow-listed response header, and adds the key in its repr-, JSON- and
percent-escaped spellings, plain, streamed and as an error message; the request body carries it
too. Each file's bytes are then scanned for every form :func:`metallm.errors.secret_forms`
knows and for every key shape the scrubber knows, and must hold none, while staying valid
corpus files that replay.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

import metallm
from _helpers import MODES
from _recorder_helpers import AKID, KEYS, SECRET, TOKEN, Call, client_kwargs, outcome
from metallm.errors import secret_forms
from metallm.testing import FakeLLMServer, Recorder, ScriptedReply
from metallm.testing._scrub import KEY_SHAPES, Scrubber, clean_target, mask
from metallm.testing.corpus import load_corpus_entry

# printable specials, so every escaped spelling differs from the literal
SPECIAL = "sk-proj-Sp3c/ial+key\"with\\back'quote=0123456789"
OTHER_KEYS = [
    "sk-ant-api03-" + "AbCd0123456789efGH" * 3,
    "AIzaSy" + "A1b2C3d4E5" * 3 + "xyz",
    "xai-" + "Z9y8X7w6V5" * 5,
    "gsk_" + "Q1w2E3r4T5" * 3,
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlMDEyMzQ1Njc4OQ",
    "ASIAQWERTYUIOP123456",
]
SHAPES = re.compile("|".join(KEY_SHAPES.values()))


def echo(request: Any) -> ScriptedReply:
    """A reply whose text (and a kept header) carries everything secret the request carried."""
    key = request.headers.get("x-secret-under-test") or request.headers.get(
        "x-amz-security-token", ""
    )
    spellings = [
        key,
        json.dumps(key),
        repr(key),
        repr(key.encode()),
        quote(key, safe=""),
        quote_plus(key),
        quote(key, safe="").lower(),
        *OTHER_KEYS,
    ]
    said = request.body.decode("utf-8", "replace")
    text = " | ".join([json.dumps(request.headers), *spellings, said, request.path])
    headers = {"x-request-id": request.headers.get("authorization", key)}
    if "(error)" in said:
        return ScriptedReply.error(401, "Incorrect API key provided: " + text, headers=headers)
    return ScriptedReply(text=text, chunk_size=100_000, headers=headers)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(default_reply=echo) as s:
        yield s


def leaks(path: Path, secrets: list[str]) -> list[str]:
    """Every secret form and key shape found in a file's bytes (and in a base64 body)."""
    text = path.read_bytes().decode("utf-8")
    raw = json.loads(text)
    texts = [text, json.dumps(raw, ensure_ascii=True)]
    if "body_base64" in raw["response"]:
        texts.append(base64.b64decode(raw["response"]["body_base64"]).decode("latin-1"))
    found = [form for s in secrets for form in secret_forms(s) for t in texts if form in t]
    shaped = (m.group(0) for t in texts for m in SHAPES.finditer(t))
    found += [m for m in shaped if m != mask(len(m))]  # a masked bearer token is still "Bearer"-led
    return found


def secrets_of(provider: str) -> list[str]:
    return [SECRET, TOKEN, AKID] if provider == "bedrock" else [SPECIAL]


def kwargs_for(provider: str, root: str, recorder: Recorder) -> dict[str, Any]:
    """A client whose key is ``SPECIAL`` (Bedrock: the AWS credentials), which also sends it in
    an allow-listed header (Bedrock takes no extra headers: its session token is header enough).
    """
    if provider == "bedrock":
        return client_kwargs(provider, root, recorder=recorder)
    extra = {"headers": {"x-secret-under-test": SPECIAL}}
    return client_kwargs(provider, root, recorder=recorder, api_key=SPECIAL, extra=extra)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", ["openai", "xai", "anthropic", "gemini", "bedrock"])
@pytest.mark.parametrize("operation", ["chat", "stream", "error"])
def test_no_recorded_file_holds_a_secret(
    server: FakeLLMServer, provider: str, operation: str, mode: str, tmp_path: Path
) -> None:
    recorder = Recorder(tmp_path, keep_headers=["x-secret-under-test"])
    secrets = secrets_of(provider)
    text = f"my keys are {' and '.join(secrets)} ({operation})"
    c = Call(
        "stream" if operation == "stream" else "chat",
        "m",
        [metallm.Message(role="user", content=text)],
    )
    result = outcome(mode, kwargs_for(provider, server.url, recorder), c)
    assert (result[0] == "error") == (operation == "error"), result
    assert OTHER_KEYS[0] in json.dumps(result)  # the live call got the echo, unscrubbed

    (path,) = recorder.recorded
    assert leaks(path, secrets) == []
    entry = load_corpus_entry(path)
    assert set(entry.request_headers) <= {
        "content-type",
        "accept",
        "anthropic-version",
        "x-secret-under-test",
    }
    assert "REDACTED" in entry.response_headers["x-request-id"]
    if operation == "chat" and provider != "bedrock":
        json.loads(entry.body_bytes)  # masked in place: still the JSON it was
    offline = Recorder(tmp_path, mode="replay")
    replayed = outcome(mode, kwargs_for(provider, "http://127.0.0.1:1", offline), c)
    assert replayed[0] == result[0] and offline.replayed == 1
    assert not any(form in json.dumps(replayed) for s in secrets for form in secret_forms(s))


def test_the_masks_keep_lengths_and_json_valid() -> None:
    body = json.dumps({"text": f"key {SPECIAL} and {OTHER_KEYS[1]}", "n": 1}).encode()
    scrubbed = Scrubber([SPECIAL]).data(body)
    assert len(scrubbed) == len(body)
    assert json.loads(scrubbed)["n"] == 1
    assert SPECIAL not in scrubbed.decode() and OTHER_KEYS[1] not in scrubbed.decode()
    assert mask(12) == "REDACTEDREDA" and mask(3) == "RED"


SHAPED = [
    *OTHER_KEYS,
    "sk-" + "a1b2c3d4e5" * 3,
    "sk-or-v1-" + "0123456789abcdef" * 4,
    "pplx-" + "Ab12" * 6,
    "AKIAIOSFODNN7EXAMPLE",
    "Bearer abc.def-ghi_jkl",
    "hf_" + "Xy12" * 6,
]


@pytest.mark.parametrize("shaped", SHAPED)
def test_every_known_key_shape_is_masked(shaped: str) -> None:
    original = f'{{"said": "{shaped}"}}'
    scrubbed = Scrubber(()).text(original)
    assert shaped.rsplit(maxsplit=1)[-1] not in scrubbed
    assert scrubbed.startswith('{"said": "') and len(scrubbed) == len(original)


@pytest.mark.parametrize(
    "innocent",
    [
        "gAAAAABn0X" + "sk-" + "a1B2c3D4e5" * 4,  # inside an encrypted (Fernet) blob
        "xai-grok-4-fast-reasoning-latest",  # a model name, not an xAI key
        "task-scikit-learn-benchmarks-for-everyone",  # no digit: not an sk- key
        "Y2h1bmtzIG9mIGJhc2U2NA+AKIAIOSFODNN7EXAMPLE",  # an id shape inside base64
        "chatcmpl-CoDWl5rS0pF10P0W0TDVgY3NA26dk",
    ],
)
def test_ids_and_blobs_that_only_look_alike_are_kept(innocent: str) -> None:
    assert Scrubber(()).text(innocent) == innocent


def test_credential_query_parameters_are_dropped_and_matching_ignores_them() -> None:
    signed = (
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/us.anthropic.claude%3A0/converse"
        "?alt=sse&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F2025"
        "0101%2Fus-east-1%2Fbedrock%2Faws4_request&X-Amz-Date=20250101T000000Z&X-Amz-Expires=300"
        "&X-Amz-Security-Token=" + quote(TOKEN, safe="") + "&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=" + "ab" * 32 + "&key=" + OTHER_KEYS[1] + "&api-version=2024-10-21"
    )
    stored, matched = clean_target(signed)
    assert stored == "/model/us.anthropic.claude%3A0/converse?alt=sse&api-version=2024-10-21"
    assert matched == "/model/us.anthropic.claude:0/converse?alt=sse&api-version=2024-10-21"
    again = signed.replace("20250101T000000Z", "20250102T000000Z").replace("ab" * 32, "cd" * 32)
    assert clean_target(again) == (stored, matched)  # a new signature: the same request


def test_a_sigv4_header_echoed_in_a_body_is_masked() -> None:
    header = (
        f"AWS4-HMAC-SHA256 Credential={AKID}/20250101/us-east-1/bedrock/aws4_request, "
        f"SignedHeaders=host;x-amz-date, Signature={'0f' * 32}"
    )
    scrubbed = Scrubber([SECRET]).text(f"echo: {header}")
    assert AKID not in scrubbed and "0f" * 32 not in scrubbed
    assert "SignedHeaders=host;x-amz-date" in scrubbed  # what is not secret stays readable


def test_a_recorder_shows_no_secret_and_masks_its_own(
    server: FakeLLMServer, tmp_path: Path
) -> None:
    mine = "internal-tenant-token-98765"
    recorder = Recorder(tmp_path, secrets=[mine])
    assert mine not in repr(recorder)
    kwargs = client_kwargs("openai", server.url, recorder=recorder)
    outcome("sync", kwargs, Call("chat", "m", [metallm.Message(role="user", content=mine)]))
    assert leaks(recorder.recorded[0], [mine, KEYS["openai"] or ""]) == []
