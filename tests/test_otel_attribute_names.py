"""metallm's attribute names are the semantic conventions' own, to the letter.

``metallm.otel.attributes`` spells every name out rather than importing
``opentelemetry-semantic-conventions`` (its modules cost about 3 ms of the first client's cold
start, for a few dozen strings); this test holds each spelled-out name equal to the package's,
so a rename upstream fails here, not in a user's dashboard.
"""

from __future__ import annotations

import pytest
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as _g
from opentelemetry.semconv.attributes import error_attributes as _err
from opentelemetry.semconv.attributes import server_attributes as _srv

from metallm.otel import attributes as A

NAMES = [
    ("OPERATION_NAME", _g.GEN_AI_OPERATION_NAME),
    ("PROVIDER_NAME", _g.GEN_AI_PROVIDER_NAME),
    ("REQUEST_MODEL", _g.GEN_AI_REQUEST_MODEL),
    ("SERVER_ADDRESS", _srv.SERVER_ADDRESS),
    ("SERVER_PORT", _srv.SERVER_PORT),
    ("REQUEST_MAX_TOKENS", _g.GEN_AI_REQUEST_MAX_TOKENS),
    ("REQUEST_TEMPERATURE", _g.GEN_AI_REQUEST_TEMPERATURE),
    ("REQUEST_TOP_P", _g.GEN_AI_REQUEST_TOP_P),
    ("REQUEST_TOP_K", _g.GEN_AI_REQUEST_TOP_K),
    ("REQUEST_STOP_SEQUENCES", _g.GEN_AI_REQUEST_STOP_SEQUENCES),
    ("REQUEST_FREQUENCY_PENALTY", _g.GEN_AI_REQUEST_FREQUENCY_PENALTY),
    ("REQUEST_PRESENCE_PENALTY", _g.GEN_AI_REQUEST_PRESENCE_PENALTY),
    ("REQUEST_SEED", _g.GEN_AI_REQUEST_SEED),
    ("REQUEST_CHOICE_COUNT", _g.GEN_AI_REQUEST_CHOICE_COUNT),
    ("OUTPUT_TYPE", _g.GEN_AI_OUTPUT_TYPE),
    ("CONVERSATION_ID", _g.GEN_AI_CONVERSATION_ID),
    ("RESPONSE_ID", _g.GEN_AI_RESPONSE_ID),
    ("RESPONSE_MODEL", _g.GEN_AI_RESPONSE_MODEL),
    ("RESPONSE_FINISH_REASONS", _g.GEN_AI_RESPONSE_FINISH_REASONS),
    ("USAGE_INPUT_TOKENS", _g.GEN_AI_USAGE_INPUT_TOKENS),
    ("USAGE_OUTPUT_TOKENS", _g.GEN_AI_USAGE_OUTPUT_TOKENS),
    ("TOKEN_TYPE", _g.GEN_AI_TOKEN_TYPE),
    ("ERROR_TYPE", _err.ERROR_TYPE),
    ("INPUT_MESSAGES", _g.GEN_AI_INPUT_MESSAGES),
    ("OUTPUT_MESSAGES", _g.GEN_AI_OUTPUT_MESSAGES),
    ("SYSTEM_INSTRUCTIONS", _g.GEN_AI_SYSTEM_INSTRUCTIONS),
    ("TOOL_DEFINITIONS", _g.GEN_AI_TOOL_DEFINITIONS),
    ("EMBEDDINGS_DIMENSION_COUNT", _g.GEN_AI_EMBEDDINGS_DIMENSION_COUNT),
    ("REQUEST_ENCODING_FORMATS", _g.GEN_AI_REQUEST_ENCODING_FORMATS),
    ("AGENT_NAME", _g.GEN_AI_AGENT_NAME),
    ("TOOL_NAME", _g.GEN_AI_TOOL_NAME),
    ("TOOL_CALL_ID", _g.GEN_AI_TOOL_CALL_ID),
    ("TOOL_TYPE", _g.GEN_AI_TOOL_TYPE),
    ("TOOL_DESCRIPTION", _g.GEN_AI_TOOL_DESCRIPTION),
    ("TOOL_CALL_ARGUMENTS", _g.GEN_AI_TOOL_CALL_ARGUMENTS),
    ("TOOL_CALL_RESULT", _g.GEN_AI_TOOL_CALL_RESULT),
]


@pytest.mark.parametrize(("ours", "theirs"), NAMES, ids=[n for n, _ in NAMES])
def test_each_name_is_the_conventions_own(ours: str, theirs: str) -> None:
    assert getattr(A, ours) == theirs


def test_the_default_hook_imports_no_semconv_package() -> None:
    import subprocess
    import sys

    code = (
        "import sys, metallm.otel; "
        "print([m for m in sys.modules if m.startswith('opentelemetry.semconv')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
