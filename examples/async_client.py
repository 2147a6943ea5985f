"""The async twin: AsyncClient, awaited calls, async streams, and calls run concurrently."""

from __future__ import annotations

import asyncio

import metallm


async def main() -> None:
    config = metallm.ClientConfig(provider="openai", max_retries=3, timeout=60)
    async with metallm.AsyncClient(config) as client:
        questions = ["What is 2+2?", "Name a prime number.", "Say hi in French."]
        replies = await asyncio.gather(
            *(
                client.create_chat_completion(
                    model=metallm.models.GPT_4O_MINI,
                    messages=[metallm.Message(role="user", content=q)],
                )
                for q in questions
            )
        )
        for q, r in zip(questions, replies, strict=True):
            print(f"{q} -> {r.content}")

        stream: metallm.AsyncChatCompletionStream = await client.create_chat_completion_stream(
            model=metallm.models.GPT_4O_MINI,
            messages=[metallm.Message(role="user", content="Count to five.")],
        )
        async with stream:
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    print(chunk.choices[0].delta.content, end="", flush=True)
        print("\nusage:", (await stream.final_response()).usage)


if __name__ == "__main__":
    asyncio.run(main())
