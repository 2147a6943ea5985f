"""Tool calling: offer a function, run the call the model asks for, send the result back.

The same request works on every provider; arguments always arrive as JSON text and every tool
call has an id to answer it by.
"""

from __future__ import annotations

import json

import metallm
from metallm import FunctionCall, FunctionDefinition, Message, Role, Tool, ToolCall


def get_weather(city: str) -> dict[str, object]:
    """A stand-in for a real weather lookup."""
    return {"city": city, "temperature_c": 18, "sky": "clear"}


def main() -> None:
    weather = Tool(
        function=FunctionDefinition(
            name="get_weather",
            description="Current weather for a city",
            parameters={
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        )
    )
    history = [Message(role=Role.USER, content="What's the weather in Paris?")]
    with metallm.Client(provider="openai") as client:
        resp = client.create_chat_completion(
            model=metallm.models.GPT_4O, messages=history, tools=[weather], tool_choice="auto"
        )
        message = resp.choices[0].message
        history.append(message)
        calls: list[ToolCall] = message.tool_calls or []
        for call in calls:
            fn: FunctionCall = call.function
            result = get_weather(**json.loads(fn.arguments))
            print(f"model called {fn.name}({fn.arguments}) -> {result}")
            history.append(
                Message(role=Role.TOOL, tool_call_id=call.id, content=json.dumps(result))
            )
        if calls:
            final = client.create_chat_completion(
                model=metallm.models.GPT_4O, messages=history, tools=[weather]
            )
            print("answer:", final.content)
        # JSON output works the same way on every provider:
        fmt = metallm.ResponseFormat(type="json_object")
        data = client.create_chat_completion(
            model=metallm.models.GPT_4O,
            messages=[Message(role=Role.USER, content="Reply with a JSON object.")],
            response_format=fmt,
        )
        print("json reply:", data.content)


if __name__ == "__main__":
    main()
