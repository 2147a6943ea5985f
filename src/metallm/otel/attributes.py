"""Every OpenTelemetry name metallm emits, and nowhere else (OTEL-GENAI.md).

The GenAI semantic conventions are still being renamed; keeping every attribute, metric and
event name here makes the coming renames (``gen_ai.client.inference.*`` metrics) a one-file
change. Names come from ``opentelemetry-semantic-conventions`` where it has them; where it lags
the spec (``cache_write``), the string is defined here.
"""

from __future__ import annotations

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as _g
from opentelemetry.semconv.attributes import error_attributes as _err
from opentelemetry.semconv.attributes import server_attributes as _srv

__all__ = [
    "CONTENT_EVENT",
    "COST_BUCKETS",
    "DURATION_BUCKETS",
    "TOKEN_BUCKETS",
]

# Span attributes set at start (samplers see them)
OPERATION_NAME = _g.GEN_AI_OPERATION_NAME
PROVIDER_NAME = _g.GEN_AI_PROVIDER_NAME
REQUEST_MODEL = _g.GEN_AI_REQUEST_MODEL
SERVER_ADDRESS = _srv.SERVER_ADDRESS
SERVER_PORT = _srv.SERVER_PORT

# Request attributes
REQUEST_MAX_TOKENS = _g.GEN_AI_REQUEST_MAX_TOKENS
REQUEST_TEMPERATURE = _g.GEN_AI_REQUEST_TEMPERATURE
REQUEST_TOP_P = _g.GEN_AI_REQUEST_TOP_P
REQUEST_TOP_K = _g.GEN_AI_REQUEST_TOP_K
REQUEST_STOP_SEQUENCES = _g.GEN_AI_REQUEST_STOP_SEQUENCES
REQUEST_FREQUENCY_PENALTY = _g.GEN_AI_REQUEST_FREQUENCY_PENALTY
REQUEST_PRESENCE_PENALTY = _g.GEN_AI_REQUEST_PRESENCE_PENALTY
REQUEST_SEED = _g.GEN_AI_REQUEST_SEED
REQUEST_CHOICE_COUNT = _g.GEN_AI_REQUEST_CHOICE_COUNT
REQUEST_STREAM = "gen_ai.request.stream"
OUTPUT_TYPE = _g.GEN_AI_OUTPUT_TYPE
CONVERSATION_ID = _g.GEN_AI_CONVERSATION_ID

# Response attributes
RESPONSE_ID = _g.GEN_AI_RESPONSE_ID
RESPONSE_MODEL = _g.GEN_AI_RESPONSE_MODEL
RESPONSE_FINISH_REASONS = _g.GEN_AI_RESPONSE_FINISH_REASONS
RESPONSE_TIME_TO_FIRST_CHUNK = "gen_ai.response.time_to_first_chunk"

# Usage
USAGE_INPUT_TOKENS = _g.GEN_AI_USAGE_INPUT_TOKENS
USAGE_OUTPUT_TOKENS = _g.GEN_AI_USAGE_OUTPUT_TOKENS
USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens"
USAGE_CACHE_WRITE_INPUT_TOKENS = "gen_ai.usage.cache_write.input_tokens"  # spec ahead of semconv
USAGE_REASONING_OUTPUT_TOKENS = "gen_ai.usage.reasoning.output_tokens"
TOKEN_TYPE = _g.GEN_AI_TOKEN_TYPE

# Cost (USD). The attribute Langfuse and other backends read as a call's cost today; the
# conventions' own proposal (gen_ai.usage.cost.amount / .currency / .source) is still open:
# swap the names here when it lands.
USAGE_COST = "gen_ai.usage.cost"
COST_CURRENCY = "USD"

# Failure and retries
ERROR_TYPE = _err.ERROR_TYPE
ERROR_TYPE_OTHER = "_OTHER"
HTTP_RESEND_COUNT = "http.request.resend_count"
HTTP_STATUS_CODE = "http.response.status_code"
RETRY_EVENT = "metallm.retry"
RETRY_DELAY = "metallm.retry.delay"

# Message content (opt-in)
INPUT_MESSAGES = _g.GEN_AI_INPUT_MESSAGES
OUTPUT_MESSAGES = _g.GEN_AI_OUTPUT_MESSAGES
SYSTEM_INSTRUCTIONS = _g.GEN_AI_SYSTEM_INSTRUCTIONS
TOOL_DEFINITIONS = _g.GEN_AI_TOOL_DEFINITIONS
CONTENT_EVENT = "gen_ai.client.inference.operation.details"
CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"

# Metrics (the spec's main branch renames these to gen_ai.client.inference.*: not yet)
METRIC_DURATION = "gen_ai.client.operation.duration"
METRIC_TOKEN_USAGE = "gen_ai.client.token.usage"
METRIC_TIME_TO_FIRST_CHUNK = "gen_ai.client.operation.time_to_first_chunk"
METRIC_TIME_PER_OUTPUT_CHUNK = "gen_ai.client.operation.time_per_output_chunk"
METRIC_EMBEDDINGS_DURATION = "gen_ai.client.embeddings.duration"
METRIC_EMBEDDINGS_INPUT_TOKENS = "gen_ai.client.embeddings.operation.input_tokens"
METRIC_COST = "gen_ai.client.operation.cost"

DURATION_BUCKETS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
TOKEN_BUCKETS = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip

COST_BUCKETS = (
    0.00001, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 50.0,
)  # fmt: skip
"""USD: from a tiny embeddings call to a long-context reasoning call."""

HISTOGRAMS: tuple[tuple[str, str, str, tuple[float, ...]], ...] = (
    (METRIC_DURATION, "s", "GenAI operation duration", DURATION_BUCKETS),
    (METRIC_TOKEN_USAGE, "{token}", "Number of input and output tokens used", TOKEN_BUCKETS),
    (
        METRIC_TIME_TO_FIRST_CHUNK,
        "s",
        "Time to receive the first chunk of a streamed response",
        DURATION_BUCKETS,
    ),
    (
        METRIC_TIME_PER_OUTPUT_CHUNK,
        "s",
        "Time between consecutive chunks of a streamed response",
        DURATION_BUCKETS,
    ),
    (METRIC_EMBEDDINGS_DURATION, "s", "GenAI embeddings operation duration", DURATION_BUCKETS),
    (
        METRIC_EMBEDDINGS_INPUT_TOKENS,
        "{token}",
        "Number of input tokens of embeddings operations",
        TOKEN_BUCKETS,
    ),
    (METRIC_COST, "{USD}", "GenAI operation cost in USD", COST_BUCKETS),
)
"""The histograms the OTel hook records: name, unit, description, bucket advice."""

OPERATION_CHAT = "chat"
OPERATION_EMBEDDINGS = "embeddings"

# Embeddings
EMBEDDINGS_DIMENSION_COUNT = _g.GEN_AI_EMBEDDINGS_DIMENSION_COUNT
REQUEST_ENCODING_FORMATS = _g.GEN_AI_REQUEST_ENCODING_FORMATS

# An outer call over several inference calls (parse and its validation re-asks)
VALIDATION_RETRY_EVENT = "metallm.structured.validation_retry"
STRUCTURED_ATTEMPT = "metallm.structured.attempt"
STRUCTURED_ERROR_COUNT = "metallm.structured.error_count"
STRUCTURED_ATTEMPTS = "metallm.structured.attempts"

# A call split into several requests (long embeddings lists): one span event per part
PART_EVENT = "metallm.request.part"
PART_INDEX = "metallm.request.part.index"
PART_INPUTS = "metallm.request.part.inputs"
PART_DURATION = "metallm.request.part.duration"

# The tool loop (run_tools): an invoke_agent span around it, one execute_tool span per tool
OPERATION_INVOKE_AGENT = "invoke_agent"
OPERATION_EXECUTE_TOOL = "execute_tool"
AGENT_NAME = _g.GEN_AI_AGENT_NAME
TOOL_NAME = _g.GEN_AI_TOOL_NAME
TOOL_CALL_ID = _g.GEN_AI_TOOL_CALL_ID
TOOL_TYPE = _g.GEN_AI_TOOL_TYPE
TOOL_TYPE_FUNCTION = "function"
TOOL_DESCRIPTION = _g.GEN_AI_TOOL_DESCRIPTION
TOOL_CALL_ARGUMENTS = _g.GEN_AI_TOOL_CALL_ARGUMENTS
TOOL_CALL_RESULT = _g.GEN_AI_TOOL_CALL_RESULT
LOOP_STEPS = "metallm.tool_loop.steps"

# A routed call (Router): an outer span over one inference span per attempt
ROUTER_STRATEGY = "metallm.router.strategy"
ROUTER_TARGET = "metallm.router.target"
"""On the routed span: the target that answered; on an attempt's span: the target it went to."""
ROUTER_ATTEMPT = "metallm.router.attempt"
ROUTER_ATTEMPTS = "metallm.router.attempts"
ROUTER_TARGETS_TRIED = "metallm.router.targets_tried"
ROUTER_NEXT_TARGET = "metallm.router.next_target"
ROUTER_FALLBACK_EVENT = "metallm.router.fallback"
ROUTER_CIRCUIT_EVENT = "metallm.router.circuit"
ROUTER_CIRCUIT_STATE = "metallm.router.circuit.state"
"""The breaker's state: a span event attribute (its name) and a gauge (its number)."""
METRIC_ROUTER_FALLBACKS = "metallm.router.fallbacks"
METRIC_ROUTER_CIRCUIT_STATE = "metallm.router.circuit.state"
CIRCUIT_STATES = {"closed": 0, "half_open": 1, "open": 2}
"""The gauge's value per breaker state."""
