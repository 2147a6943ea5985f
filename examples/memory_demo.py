"""Conversation memory that survives a restart: two runs of this program share one session.

Run it as it is: it runs itself twice, as two separate processes (two ``Client`` lifetimes).
The first run starts the session with a system message and asks a question; the second run,
a fresh process, loads that history from the store, asks a follow-up (the model receives the
whole history) and prints the conversation. The store is a ``metallm.memory.SQLiteStore`` file
(a temp dir, or the path given as the first argument), or Redis (``metallm.memory.RedisStore``)
when ``REDIS_URL`` is set. Against the real API set OPENAI_API_KEY; the test suite runs it
offline with OPENAI_BASE_URL pointing at a metallm.testing.FakeLLMServer.

Errors are typed: ``metallm.InvalidSessionIdError`` for a bad session id (before anything is
written), ``metallm.MemoryStoreError`` when the store is unreachable, and
``metallm.ConversationCorruptedError`` (a MemoryStoreError naming the session) when a stored
value cannot be read back; it is never silently replaced.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import metallm
from metallm.memory import KVStore

SESSION = "user-123"


def open_store(db_path: str) -> KVStore:
    """Redis when REDIS_URL is set (extra ``redis``), else a SQLite file."""
    url = os.environ.get("REDIS_URL")
    if url:
        from metallm.memory import RedisStore

        return RedisStore(url)
    from metallm.memory import SQLiteStore

    return SQLiteStore(db_path)


def run_phase(phase: str, db_path: str) -> None:
    config = metallm.MemoryConfig(max_messages=50, ttl=3600, key_prefix="demo:conversations")
    with metallm.Client(
        provider=metallm.ProviderName.OPENAI, memory=open_store(db_path), memory_config=config
    ) as client:
        if phase == "1":
            client.create_conversation_with_system_message(
                SESSION, "You are a helpful assistant that remembers our conversation."
            )
            reply = client.create_chat_completion_with_memory(
                SESSION,
                model=metallm.models.GPT_4O_MINI,
                messages=[{"role": "user", "content": "My name is Ada. Please remember it."}],
            )
            print(f"[run 1] assistant: {reply.content}")
            try:
                client.append_message("", {"role": "user", "content": "lost?"})
            except metallm.InvalidSessionIdError as exc:
                print(f"[run 1] rejected before any write: {exc}")
            return
        conversation: metallm.Conversation = client.load_conversation(SESSION)
        print(f"[run 2] loaded {len(conversation.messages)} messages from the previous run")
        stream = client.create_chat_completion_stream_with_memory(
            SESSION,
            model=metallm.models.GPT_4O_MINI,
            messages=[{"role": "user", "content": "What is my name?"}],
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        print(f"[run 2] assistant (streamed, stored when complete): {text}")
        for message in client.get_conversation_messages(SESSION):
            print(f"  {message.role.value:>9}: {message.text()}")
        count = len(client.get_conversation_messages(SESSION))
        print(f"conversation survived the restart: {count} messages")
        client.delete_conversation(SESSION)


def main() -> None:
    if len(sys.argv) >= 3 and sys.argv[1] == "--phase":
        try:
            run_phase(sys.argv[2], sys.argv[3])
        except metallm.MemoryStoreError as exc:  # includes ConversationCorruptedError
            sys.exit(f"memory store failed: {exc}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        db_path = sys.argv[1] if len(sys.argv) > 1 else str(Path(tmp) / "conversations.db")
        for phase in ("1", "2"):  # two processes: the second one is the "restart"
            done = subprocess.run(
                [sys.executable, __file__, "--phase", phase, db_path], check=False
            )
            if done.returncode:
                sys.exit(done.returncode)


if __name__ == "__main__":
    main()
