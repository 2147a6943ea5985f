"""The tool loop: hand metallm your functions and let it run them until the model answers.

``run_tools`` describes each function to the model (name, docstring, a JSON schema pydantic
derives from the signature), validates the model's arguments, runs a step's calls concurrently,
sends the results back in call order and repeats, bounded by ``max_steps``. A tool that raises
does not crash the loop: its error goes back to the model, which can recover.
"""

from __future__ import annotations

import asyncio
from typing import Literal

import metallm


@metallm.tool
def get_weather(city: str, unit: Literal["c", "f"] = "c") -> dict[str, object]:
    """Current weather for a city.

    Args:
        city: The city's name.
        unit: Celsius or Fahrenheit.
    """
    return {"city": city, "temperature": 18 if unit == "c" else 64, "unit": unit}


async def local_time(city: str) -> str:
    """The local time in a city (an async tool: it runs concurrently with its siblings)."""
    await asyncio.sleep(0)
    return f"12:00 in {city}"


def main() -> None:
    with metallm.Client(provider="openai") as client:
        result = client.run_tools(
            model=metallm.models.GPT_4O,
            messages=[{"role": "user", "content": "Weather and time in Paris?"}],
            tools=[get_weather, local_time],
            max_steps=4,
        )
    for step in result.steps:
        for record in step.tool_calls:
            status = "ok" if record.ok else record.error_kind
            call = f"{record.name}({record.arguments})"
            print(f"step {step.index}: {call} -> {record.content} [{status}]")
    print(f"{len(result.messages)} messages in the transcript")
    print("answer:", result.content)


if __name__ == "__main__":
    main()
