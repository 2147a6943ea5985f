"""Errors and retries: the typed error tree, a custom RetryPolicy, and the standalone transport."""

from __future__ import annotations

import os

import httpx

import metallm
from metallm import RetryEvent, RetryPolicy


def log_retry(event: RetryEvent) -> None:
    print(
        f"retry {event.attempt} in {event.delay:.2f}s "
        f"(status {event.status_code}, error {event.error!r})"
    )


def main() -> None:
    policy = RetryPolicy(max_retries=5, initial_backoff=0.5, max_backoff=30, on_retry=log_retry)
    with metallm.Client(provider="openai", retry=policy) as client:
        try:
            resp = client.create_chat_completion(
                model=metallm.models.GPT_4O_MINI,
                messages=[metallm.Message(role="user", content="Hello")],
            )
            print("reply:", resp.content)
        except metallm.RateLimitError as exc:  # 429 after every retry
            print("rate limited; server asks to wait", exc.retry_after, "s")
        except metallm.AuthenticationError as exc:  # 401
            print("check your key:", exc.message)
        except metallm.APIError as exc:  # any other error status
            print(
                f"provider error {exc.status_code} ({exc.code}): {exc.message},"
                f" request {exc.request_id}"
            )
        except metallm.APIConnectionError as exc:  # refused, reset, timed out, stream cut
            print("network trouble:", exc)
        except metallm.InvalidRequestError as exc:  # caught before any I/O
            print("fix the request:", exc)

    # The same policy on any httpx client, without metallm's Client at all:
    base = os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1")
    transport = metallm.RetryTransport(policy=RetryPolicy(max_retries=3, on_retry=log_retry))
    with httpx.Client(transport=transport) as http:
        r = http.post(
            f"{base}/chat/completions",
            headers={"authorization": f"Bearer {os.environ.get('OPENAI_API_KEY', '')}"},
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "ping"}]},
        )
        print("raw httpx with RetryTransport:", r.status_code)
    print("async twin:", metallm.AsyncRetryTransport.__name__)


if __name__ == "__main__":
    main()
