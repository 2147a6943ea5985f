"""Testing aids for metallm and for its users' own tests.

- :class:`FakeLLMServer`: a real HTTP/1.1 server on 127.0.0.1 that speaks the providers' wire
  formats, serves :class:`ScriptedReply` values (text, reasoning, tool calls, errors, cut or
  stalled streams) or replays recorded corpus files byte for byte, and records every request.
- :class:`FakeProvider`: a scripted provider object for unit tests with no HTTP at all.
- :class:`MockKVS`: an in-memory conversation store that records calls and fails on demand.
- :class:`Recorder`: records a client's live HTTP exchanges to corpus-format files, secrets
  scrubbed, and replays them (``mode="replay_or_record"`` records only what is missing);
  ``FakeLLMServer.replay(folder)`` serves such a folder over real HTTP.
- :mod:`metallm.testing.corpus`: reading the recorded-exchange corpus.
"""

from .corpus import CorpusEntry, corpus_dir, corpus_files, load_corpus_entry
from .fake_provider import FakeProvider
from .fake_server import FakeLLMServer, RecordedRequest
from .mock_kvs import MockKVS
from .recorder import Recorder, RecorderMode
from .script import ScriptedReply, ScriptedToolCall, ScriptedUsage
from .wire import WireResponse, register_wire, unregister_wire

__all__ = [
    "CorpusEntry",
    "FakeLLMServer",
    "FakeProvider",
    "MockKVS",
    "RecordedRequest",
    "Recorder",
    "RecorderMode",
    "ScriptedReply",
    "ScriptedToolCall",
    "ScriptedUsage",
    "WireResponse",
    "corpus_dir",
    "corpus_files",
    "load_corpus_entry",
    "register_wire",
    "unregister_wire",
]
