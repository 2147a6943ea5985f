"""Streaming: print tokens as they arrive, then read the accumulated final response.

The stream is a context manager: leaving the block closes it and releases the connection,
even if you stop early.
"""

from __future__ import annotations

import metallm


def main() -> None:
    with metallm.Client(provider="openai") as client:
        request = metallm.ChatCompletionRequest(
            model=metallm.models.GPT_4O,
            messages=[metallm.Message(role="user", content="Tell me a short story about AI.")],
            max_tokens=200,
        )
        stream: metallm.ChatCompletionStream
        with client.create_chat_completion_stream(request) as stream:
            chunk: metallm.ChatCompletionChunk
            for chunk in stream:
                if chunk.choices:
                    first: metallm.ChunkChoice = chunk.choices[0]
                    delta: metallm.Delta = first.delta
                    if delta.content:
                        print(delta.content, end="", flush=True)
            final = stream.final_response()  # the whole ChatCompletionResponse
        print()
        print("finish:", final.choices[0].finish_reason, "usage:", final.usage)


if __name__ == "__main__":
    main()
