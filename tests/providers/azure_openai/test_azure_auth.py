"""Azure OpenAI credentials: the ``api-key`` header, or a Microsoft Entra ID token provider.

The provider's token is asked for per request; a ``(token, expires_on)`` answer (or an
``AccessToken``-like object) is cached until five minutes before it expires. Tokens are secrets:
checked like keys, redacted from everything the codec builds, never in a message or a repr.
"""

from __future__ import annotations

import json
import threading
from typing import Any, NamedTuple

import pytest

from metallm.embeddings import EmbeddingsRequest
from metallm.errors import AuthenticationError, ConfigurationError, StreamError
from metallm.provider import HTTPResponse, ProviderSettings
from metallm.providers.azure_openai import REFRESH_MARGIN, AzureAuth, AzureOpenAIProvider, create
from metallm.providers.azure_openai._auth import KEPT_TOKENS
from metallm.types import ChatCompletionRequest, Message, Role

KEY = "azure-auth-SECRET-key-0123456789"
JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2NvZ25pdGl2ZXNlcnZpY2VzIn0.c2ln"


def make(provider: Any, key: str | None = None, **extra: Any) -> AzureOpenAIProvider:
    settings = ProviderSettings(
        "azure_openai",
        key,
        "https://r.openai.azure.com",
        {"azure_ad_token_provider": provider, **extra},
    )
    return create(settings)


def req() -> ChatCompletionRequest:
    return ChatCompletionRequest(model="d", messages=[Message(role=Role.USER, content="x")])


class Tokens:
    """A token provider that issues ``tok-1``, ``tok-2``, ... and counts its calls."""

    def __init__(self, expires_in: float | None = None, clock: Any = None) -> None:
        self.calls = 0
        self.expires_in = expires_in
        self.clock = clock
        self.lock = threading.Lock()

    def __call__(self) -> Any:
        with self.lock:
            self.calls += 1
            token = f"{JWT}-tok-{self.calls}"
        if self.expires_in is None:
            return token
        return (token, self.clock() + self.expires_in)


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_string_provider_is_asked_per_request() -> None:
    tokens = Tokens()
    codec = make(tokens)
    first = codec.build_request(req(), stream=False)
    second = codec.build_request(req(), stream=True)
    assert tokens.calls == 2
    assert first.headers["authorization"] == f"Bearer {JWT}-tok-1"
    assert second.headers["authorization"] == f"Bearer {JWT}-tok-2"
    assert "api-key" not in first.headers
    assert codec.secrets() == (f"{JWT}-tok-1", f"{JWT}-tok-2")


def test_the_token_wins_over_a_key_and_both_are_secrets() -> None:
    codec = make(lambda: JWT, key=KEY)
    headers = codec.build_request(req(), stream=False).headers
    assert headers["authorization"] == f"Bearer {JWT}" and "api-key" not in headers
    assert set(codec.secrets()) == {KEY, JWT}
    assert KEY not in repr(codec) and JWT not in repr(codec)
    embeddings = make(lambda: JWT).build_embeddings_request(EmbeddingsRequest(model="e", input="x"))
    assert embeddings.headers["authorization"] == f"Bearer {JWT}"


def test_an_expiring_token_is_cached_until_the_refresh_margin() -> None:
    clock = Clock()
    tokens = Tokens(expires_in=3600, clock=clock)
    auth = AzureAuth("azure_openai", None, tokens, clock=clock)
    assert auth.authorization() == f"Bearer {JWT}-tok-1"
    clock.now += 3600 - REFRESH_MARGIN - 1
    assert auth.authorization() == f"Bearer {JWT}-tok-1" and tokens.calls == 1
    clock.now += 1  # now within five minutes of expiry: refreshed
    assert auth.authorization() == f"Bearer {JWT}-tok-2" and tokens.calls == 2
    assert auth.authorization() == f"Bearer {JWT}-tok-2" and tokens.calls == 2
    assert auth.secrets() == (f"{JWT}-tok-1", f"{JWT}-tok-2")


class AccessToken(NamedTuple):  # azure.core.credentials.AccessToken's shape
    token: str
    expires_on: int


class AccessTokenInfo:  # azure.core.credentials.AccessTokenInfo's shape
    def __init__(self, token: str, expires_on: int, refresh_on: int | None) -> None:
        self.token, self.expires_on, self.refresh_on = token, expires_on, refresh_on


def test_azure_core_token_shapes() -> None:
    clock = Clock()
    now = int(clock.now)
    named = AzureAuth("a", None, lambda: AccessToken(JWT, now + 3600), clock=clock)
    assert named.authorization() == f"Bearer {JWT}"
    answers = iter(
        [AccessTokenInfo("t-one", now + 3600, now + 60), AccessTokenInfo("t-two", 0, None)]
    )
    info = AzureAuth("a", None, lambda: next(answers), clock=clock)
    assert info.authorization() == "Bearer t-one"
    clock.now += 59
    assert info.authorization() == "Bearer t-one"
    clock.now += 1  # refresh_on reached, long before expires_on
    assert info.authorization() == "Bearer t-two"


def test_concurrent_requests_refresh_once() -> None:
    tokens = Tokens(expires_in=3600, clock=Clock())
    auth = AzureAuth("azure_openai", None, tokens, clock=tokens.clock)
    seen: list[str | None] = []
    start = threading.Barrier(8)

    def work() -> None:
        start.wait()
        seen.extend(auth.authorization() for _ in range(50))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert tokens.calls == 1 and set(seen) == {f"Bearer {JWT}-tok-1"} and len(seen) == 400


def test_only_the_last_tokens_are_kept() -> None:
    tokens = Tokens()
    auth = AzureAuth("azure_openai", KEY, tokens)
    for _ in range(KEPT_TOKENS + 3):
        auth.authorization()
    secrets = auth.secrets()
    assert secrets[0] == KEY and len(secrets) == KEPT_TOKENS + 1
    assert secrets[-1] == f"{JWT}-tok-{KEPT_TOKENS + 3}" and f"{JWT}-tok-3" not in secrets


def test_surrounding_whitespace_is_stripped_and_a_repeated_token_reused() -> None:
    calls: list[int] = []

    def provider() -> str:
        calls.append(1)
        return f"  {JWT}\n"

    codec = make(provider)
    for _ in range(3):
        assert codec.build_request(req(), stream=False).headers["authorization"] == f"Bearer {JWT}"
    assert len(calls) == 3 and codec.secrets() == (JWT,)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (None, "returned NoneType, not a token string"),
        (42, "returned int, not a token string"),
        ("", "returned an empty token"),
        (("", 5), "returned an empty token"),
        ((JWT, "soon"), "returned expires_on of type str, not epoch seconds"),
        ((JWT, True), "returned expires_on of type bool"),
        (f"{JWT[:10]}\n{JWT[10:]}", "character at position 10"),
        (f"{JWT[:5]}é{JWT[5:]}", "character at position 5"),
        (f"{JWT[:7]} {JWT[7:]}", "character at position 7"),
    ],
)
def test_a_bad_answer_is_a_configuration_error_without_the_token(answer: Any, message: str) -> None:
    codec = make(lambda: answer)
    with pytest.raises(ConfigurationError, match=message) as info:
        codec.build_request(req(), stream=False)
    assert "azure_ad_token_provider" in str(info.value)
    assert JWT[:12] not in str(info.value) and JWT[12:] not in str(info.value)


def test_the_providers_own_exception_reaches_the_caller() -> None:
    class CredentialUnavailable(Exception):
        pass

    def provider() -> str:
        raise CredentialUnavailable("no managed identity here")

    with pytest.raises(CredentialUnavailable, match="no managed identity"):
        make(provider).build_request(req(), stream=False)


def test_tokens_are_redacted_from_errors_and_stream_errors() -> None:
    tokens = Tokens()
    codec = make(tokens)
    codec.build_request(req(), stream=False)
    body = {"error": {"code": "401", "message": f"token {JWT}-tok-1 expired"}}
    err = codec.parse_error(HTTPResponse(401, {}, json.dumps(body).encode()))
    assert type(err) is AuthenticationError
    for text in (str(err), repr(err), json.dumps(err.body)):
        assert f"{JWT}-tok-1" not in text and "[REDACTED]" in str(err)
    codec.build_request(req(), stream=True)  # a refreshed token: both stay secret
    decoder = codec.stream_decoder(req())
    event = {"error": {"message": f"bad {JWT}-tok-1 and {JWT}-tok-2", "code": "401"}}
    with pytest.raises(AuthenticationError) as info:
        decoder.feed(b"data: " + json.dumps(event).encode() + b"\n\n")
    assert "tok-1" not in str(info.value) and "tok-2" not in str(info.value)
    garbled = codec.stream_decoder(req())
    with pytest.raises(StreamError) as bad:
        garbled.feed(f"data: not json {JWT}-tok-2\n\n".encode())
    assert "tok-2" not in str(bad.value)
