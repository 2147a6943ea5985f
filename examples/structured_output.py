"""Typed answers: a pydantic model back from the model, validated, and streamed as it grows.

``client.parse`` asks the provider for JSON that follows the model's schema (OpenAI: strict
``json_schema``), validates the reply, and re-asks once with the errors if it does not
validate. ``client.parse_stream`` yields validated partial objects while the JSON arrives.

Run against the real API with OPENAI_API_KEY set, or offline as the test suite does, with
OPENAI_BASE_URL pointing at a metallm.testing.FakeLLMServer.
"""

from __future__ import annotations

from pydantic import BaseModel

import metallm


class Item(BaseModel):
    name: str
    quantity: int


class Order(BaseModel):
    customer: str
    items: list[Item]


def main() -> None:
    client = metallm.Client(provider=metallm.ProviderName.OPENAI)  # key from OPENAI_API_KEY
    messages = [
        {"role": "system", "content": "Extract the order from the customer's message."},
        {"role": "user", "content": "Hi, this is Ann: two teas and one lemon cake, please."},
    ]
    try:
        result = client.parse(
            Order, model=metallm.models.GPT_4O_MINI, messages=messages, max_validation_retries=1
        )
    except metallm.RefusalError as exc:
        print("refused:", exc.refusal)
        return
    except metallm.StructuredOutputError as exc:
        print(f"no valid order after {len(exc.responses)} attempts: {exc.errors}")
        return
    order: Order = result.parsed
    print(f"order for {order.customer}: {[(i.name, i.quantity) for i in order.items]}")
    print(f"attempts: {result.attempts}, tokens: {result.response.usage}")

    with client.parse_stream(list[Item], model=metallm.models.GPT_4O_MINI, messages=messages) as s:
        for partial in s:  # each a valid list[Item], growing as the JSON streams in
            print("partial:", [item.name for item in partial])
        items = s.final()
    print("streamed items:", len(items))
    client.close()


if __name__ == "__main__":
    main()
