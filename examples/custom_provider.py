"""Third-party providers, built only on the public interface ``metallm.provider``.

Two kinds, both injected without touching metallm:

1. ``EchoBotProvider`` implements ``Provider`` and ``AsyncProvider``: it brings its own I/O
   (here none: a deterministic local "model"), and metallm adds retries, hooks and streams.
2. ``GatewayCodec`` implements ``HTTPProvider``: a sans-IO codec for an OpenAI-compatible
   gateway. It only builds requests and parses bytes; metallm supplies the transport, retries
   and telemetry. It is built on the codec kit the built-in providers use too: ``HTTPCodec``
   (name, base URL, secrets, headers, JSON bodies, error parsing) and ``EventDecoder`` (the
   stream skeleton: end marker, JSON checks, error events). It is registered by name with
   ``metallm.provider.register``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import metallm
from metallm import ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse
from metallm.provider import (
    EventDecoder,
    HTTPCodec,
    HTTPRequest,
    HTTPResponse,
    ProviderSettings,
    ProviderSpec,
    json_body,
    register,
)


class EchoBotProvider:
    """A provider with its own I/O: answers by echoing, word by word when streaming."""

    name = "echobot"

    def _answer(self, request: ChatCompletionRequest) -> str:
        return f"You said: {request.messages[-1].text()}"

    def create_chat_completion(self, request: ChatCompletionRequest) -> ChatCompletionResponse:
        text = self._answer(request)
        return ChatCompletionResponse(
            id="echo-1",
            model=request.model,
            choices=[
                metallm.Choice(
                    message=metallm.Message(role="assistant", content=text), finish_reason="stop"
                )
            ],
            usage=metallm.Usage(
                prompt_tokens=len(request.messages), completion_tokens=len(text.split())
            ),
        )

    def create_chat_completion_stream(
        self, request: ChatCompletionRequest
    ) -> Iterator[ChatCompletionChunk]:
        for i, word in enumerate(self._answer(request).split(" ")):
            delta = metallm.Delta(content=word if i == 0 else " " + word)
            yield ChatCompletionChunk(
                id="echo-1", model=request.model, choices=[metallm.ChunkChoice(delta=delta)]
            )
        yield ChatCompletionChunk(
            id="echo-1", model=request.model, choices=[metallm.ChunkChoice(finish_reason="stop")]
        )

    def close(self) -> None:
        pass

    async def acreate_chat_completion(
        self, request: ChatCompletionRequest
    ) -> ChatCompletionResponse:
        return self.create_chat_completion(request)

    async def acreate_chat_completion_stream(
        self, request: ChatCompletionRequest
    ) -> AsyncIterator[ChatCompletionChunk]:
        async def gen() -> AsyncIterator[ChatCompletionChunk]:
            for chunk in self.create_chat_completion_stream(request):
                yield chunk

        return gen()

    async def aclose(self) -> None:
        pass


class _GatewayStream(EventDecoder):
    """Incremental decoder: SSE bytes in, unified chunks out, ``[DONE]`` at the end."""

    __slots__ = ()
    end_marker = end_data = "[DONE]"

    def on_event(self, name: str, obj: dict[str, Any]) -> ChatCompletionChunk | None:
        return ChatCompletionChunk.model_validate(obj)


class GatewayCodec(HTTPCodec):
    """A sans-IO codec for an OpenAI-compatible gateway that wants an ``x-gateway-key`` header."""

    name = "gateway"

    def __init__(self, settings: ProviderSettings) -> None:
        super().__init__(settings.api_key, settings.base_url)

    def auth_headers(self) -> dict[str, str]:
        key = self._api_key or ""
        return {"x-gateway-key": key, "authorization": f"Bearer {key}"}

    def build_request(self, request: ChatCompletionRequest, *, stream: bool) -> HTTPRequest:
        body = {
            "model": request.model,
            "messages": [{"role": m.role.value, "content": m.text()} for m in request.messages],
            **({"stream": True, "stream_options": {"include_usage": True}} if stream else {}),
        }
        return self.http_request(f"{self.base_url}/chat/completions", body, stream=stream)

    def parse_response(self, response: HTTPResponse) -> ChatCompletionResponse:
        return ChatCompletionResponse.model_validate(json_body(self.name, response))

    def stream_decoder(self, request: ChatCompletionRequest) -> _GatewayStream:
        return _GatewayStream(self.name, self.secrets())


def main() -> None:
    # 1. A provider with its own I/O, injected directly.
    with metallm.Client(custom_provider=EchoBotProvider()) as client:
        print(
            client.create_chat_completion(
                model="echo", messages=[metallm.Message(role="user", content="hi")]
            ).content
        )
        print(
            "".join(
                c.choices[0].delta.content or ""
                for c in client.create_chat_completion_stream(
                    model="echo", messages=[metallm.Message(role="user", content="stream me")]
                )
                if c.choices
            )
        )

    async def run_async() -> str:
        async with metallm.AsyncClient(custom_provider=EchoBotProvider()) as ac:
            return (
                await ac.create_chat_completion(
                    model="echo", messages=[metallm.Message(role="user", content="async")]
                )
            ).content

    print(asyncio.run(run_async()))

    # 2. A sans-IO codec registered by name, then used like a built-in provider.
    register(
        ProviderSpec(
            "gateway",
            GatewayCodec,
            default_base_url=os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1"),
            api_key_env=("GATEWAY_API_KEY", "OPENAI_API_KEY"),
        ),
        replace=True,
    )
    print("registered providers:", metallm.provider.available())
    with metallm.Client(provider="gateway") as client:
        resp = client.create_chat_completion(
            model="gpt-4o-mini", messages=[metallm.Message(role="user", content="via gateway")]
        )
        print(resp.provider, "->", resp.content)


if __name__ == "__main__":
    main()
