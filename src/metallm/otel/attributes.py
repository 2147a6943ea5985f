"""Every OpenTelemetry name metallm emits, and nowhere else (OTEL-GENAI.md).

The GenAI semantic conventions are still being renamed; keeping every attribute, metric and
event name here makes the coming renames (``gen_ai.client.inference.*`` metrics) a one-file
change. Every name is spelled out here rather than imported from
``opentelemetry-semantic-conventions``: its modules cost about 3 ms of a first client's cold
start for a few dozen strings. ``tests/test_otel_attribute_names.py`` holds each name the package
has equal to the package's own; the rest (``cache_write``, ...) are the spec's, ahead of it.
"""

from __future__ import annotations

__all__ = [
    "CONTENT_EVENT",
    "COST_BUCKETS",
    "DURATION_BUCKETS",
    "TOKEN_BUCKETS",
]

# Span attributes set at start (samplers see them)
OPERATION_NAME = "gen_ai.operation.name"
PROVIDER_NAME = "gen_ai.provider.name"
REQUEST_MODEL = "gen_ai.request.model"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"

# Request attributes
REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
REQUEST_TEMPERATURE = "gen_ai.request.temperature"
REQUEST_TOP_P = "gen_ai.request.top_p"
REQUEST_TOP_K = "gen_ai.request.top_k"
REQUEST_STOP_SEQUENCES = "gen_ai.request.stop_sequences"
REQUEST_FREQUENCY_PENALTY = "gen_ai.request.frequency_penalty"
REQUEST_PRESENCE_PENALTY = "gen_ai.request.presence_penalty"
REQUEST_SEED = "gen_ai.request.seed"
REQUEST_CHOICE_COUNT = "gen_ai.request.choice.count"
REQUEST_STREAM = "gen_ai.request.stream"
OUTPUT_TYPE = "gen_ai.output.type"
CONVERSATION_ID = "gen_ai.conversation.id"

# Response attributes
RESPONSE_ID = "gen_ai.response.id"
RESPONSE_MODEL = "gen_ai.response.model"
RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
RESPONSE_TIME_TO_FIRST_CHUNK = "gen_ai.response.time_to_first_chunk"

# Usage
USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens"
USAGE_CACHE_WRITE_INPUT_TOKENS = "gen_ai.usage.cache_write.input_tokens"  # spec ahead of semconv
USAGE_REASONING_OUTPUT_TOKENS = "gen_ai.usage.reasoning.output_tokens"
TOKEN_TYPE = "gen_ai.token.type"

# Cost (USD). The attribute Langfuse and other backends read as a call's cost today; the
# conventions' own proposal (gen_ai.usage.cost.amount / .currency / .source) is still open:
# swap the names here when it lands.
USAGE_COST = "gen_ai.usage.cost"
COST_CURRENCY = "USD"

# Failure and retries
ERROR_TYPE = "error.type"
ERROR_TYPE_OTHER = "_OTHER"
HTTP_RESEND_COUNT = "http.request.resend_count"
HTTP_STATUS_CODE = "http.response.status_code"
RETRY_EVENT = "metallm.retry"
RETRY_DELAY = "metallm.retry.delay"

# Message content (opt-in)
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
TOOL_DEFINITIONS = "gen_ai.tool.definitions"
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
EMBEDDINGS_DIMENSION_COUNT = "gen_ai.embeddings.dimension.count"
REQUEST_ENCODING_FORMATS = "gen_ai.request.encoding_formats"

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
AGENT_NAME = "gen_ai.agent.name"
TOOL_NAME = "gen_ai.tool.name"
TOOL_CALL_ID = "gen_ai.tool.call.id"
TOOL_TYPE = "gen_ai.tool.type"
TOOL_TYPE_FUNCTION = "function"
TOOL_DESCRIPTION = "gen_ai.tool.description"
TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"
TOOL_CALL_RESULT = "gen_ai.tool.call.result"
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
