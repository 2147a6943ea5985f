"""A plain chat completion: build a request, read the reply and its token usage.

Run against the real API with OPENAI_API_KEY set, or offline as the test suite does, with
OPENAI_BASE_URL pointing at a metallm.testing.FakeLLMServer.
"""

from __future__ import annotations

import metallm
from metallm import ChatCompletionRequest, Message, Role


def main() -> None:
    client = metallm.Client(provider=metallm.ProviderName.OPENAI)  # key from OPENAI_API_KEY
    request = ChatCompletionRequest(
        model=metallm.models.GPT_4O_MINI,
        messages=[
            Message(role=Role.SYSTEM, content="You are a helpful assistant."),
            Message(role=Role.USER, content="Hello! How can you help me today?"),
        ],
        max_tokens=150,
        temperature=0.7,
    )
    response: metallm.ChatCompletionResponse = client.create_chat_completion(request)
    choice: metallm.Choice = response.choices[0]
    usage: metallm.Usage | None = response.usage
    print("Response:", choice.message.content)
    print("Finish reason:", choice.finish_reason)
    if usage is not None:
        print("Tokens used:", usage.total_tokens)
    info = metallm.models.model_info(request.model)
    if info is not None:
        print(f"{info.name}: context window {info.context_window} tokens")
    client.close()


if __name__ == "__main__":
    main()
