"""metallm: one typed API over many LLM providers, with OpenTelemetry built in.

::

    import metallm
    client = metallm.Client(provider="openai")          # key from OPENAI_API_KEY
    resp = client.create_chat_completion(model=metallm.models.GPT_4O,
                                         messages=[metallm.Message(role="user", content="Hi")])

Every public type, error and helper is importable from here; providers plug in through
:mod:`metallm.provider`, conversation stores through ``metallm.memory``, telemetry through
hooks (:mod:`metallm.hooks`). Importing metallm loads no provider codec, OTel SDK or exporter.
"""

import typing as _typing

from . import (
    _builtins,  # noqa: F401  (importing it registers the built-in providers)
    provider,
)
from ._lazy import lazy_attributes as _lazy_attributes
from .client import AsyncClient, Client
from .config import ClientConfig, ProviderName
from .embeddings import Embedding, EmbeddingsRequest, EmbeddingsResponse, EmbeddingsUsage
from .errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    ConfigurationError,
    ConflictError,
    ContentFilterError,
    ContextLengthExceededError,
    ConversationCorruptedError,
    InternalServerError,
    InvalidRequestError,
    InvalidSessionIdError,
    MaxStepsExceededError,
    MemoryStoreError,
    MetaLLMError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    RateLimitError,
    RefusalError,
    ResponseValidationError,
    StreamError,
    StructuredOutputError,
    ToolExecutionError,
    UnsupportedFeatureError,
)
from .hooks import (
    LLMCallInfo,
    ObservabilityHook,
    RouteInfo,
)
from .logs import log_context, logger_from_context
from .retry import AsyncRetryTransport, RetryEvent, RetryPolicy, RetryTransport
from .streams import AsyncChatCompletionStream, ChatCompletionStream
from .tokens import TokenCount
from .types import (
    AudioPart,
    CacheControl,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatCompletionResponse,
    Choice,
    ChunkChoice,
    ContentPart,
    Cost,
    Delta,
    DocumentPart,
    FinishReason,
    FunctionCall,
    FunctionCallDelta,
    FunctionDefinition,
    ImagePart,
    ImageURL,
    InputAudio,
    Message,
    ReasoningDelta,
    ReasoningPart,
    ResponseFormat,
    Role,
    TextPart,
    Tool,
    ToolCall,
    ToolCallDelta,
    Usage,
)

if _typing.TYPE_CHECKING:  # type checkers see the lazy names below as what they are
    from . import models
    from .budget import Budget
    from .hooks import LatencyStats, LoggingHook, MetricsCollector, ModelStats
    from .memory import Conversation, MemoryConfig
    from .pricing import ModelPrice
    from .router import (
        AllTargetsFailedError,
        AsyncRouter,
        CircuitBreaker,
        LocalRouterState,
        RateLimit,
        Router,
        RouterState,
        Target,
        TargetStats,
    )
    from .router.redis_state import RedisRouterState
    from .structured import AsyncParseStream, ParsedResponse, ParseStream
    from .tools import FunctionTool, ToolCallRecord, ToolRunResult, ToolStep, tool

__version__ = "0.1.0"

_LAZY = {
    "AllTargetsFailedError": "router",
    "AsyncParseStream": "structured",
    "AsyncRouter": "router",
    "Budget": "budget",
    "CircuitBreaker": "router",
    "Conversation": "memory",
    "FunctionTool": "tools",
    "LatencyStats": "hooks",
    "LoggingHook": "hooks",
    "LocalRouterState": "router",
    "MemoryConfig": "memory",
    "MetricsCollector": "hooks",
    "ModelPrice": "pricing",
    "ModelStats": "hooks",
    "ParseStream": "structured",
    "ParsedResponse": "structured",
    "RateLimit": "router",
    "RedisRouterState": "router.redis_state",
    "Router": "router",
    "RouterState": "router",
    "Target": "router",
    "TargetStats": "router",
    "ToolCallRecord": "tools",
    "ToolRunResult": "tools",
    "ToolStep": "tools",
    "models": "models",
    "tool": "tools",
}
"""Public names whose module is imported at their first use, not by ``import metallm``: a
plain chat call never routes, keeps a budget, parses a typed answer, runs tools or keeps a
conversation, and ``import metallm`` must stay within 1.5x of ``import httpx, pydantic,
opentelemetry.trace`` (DESIGN.md section 9, ``benchmarks/measure_import.py``). Measured on
the 2-core machine (``python -X importtime``, medians of 9): the router package alone costs
about 15 ms (``RedisRouterState`` also imports redis); the tool loop about 15 ms (its
``asyncio`` and thread pool 11 ms), structured output 3 ms, the memory stores 2 ms, token
counting 3 ms (gzip, ``importlib.resources``), budgets and pricing 1 ms, the ``models``
catalog (a submodule, listed here by its own name) 1 ms. The clients' methods import those
modules when first called (see :mod:`metallm.client`)."""

if not _typing.TYPE_CHECKING:  # type checkers read the imports above (a typo stays an error)
    __getattr__, __dir__ = _lazy_attributes(__name__, _LAZY, globals())
    # Resolve a lazy public name (see ``_LAZY``) on first use, then keep it as a global:
    # Python calls a module's ``__getattr__`` only for names it does not have, so after the
    # first access the name is an ordinary attribute; ``dir(metallm)`` lists them all.

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AllTargetsFailedError",
    "AsyncChatCompletionStream",
    "AsyncClient",
    "AsyncParseStream",
    "AsyncRetryTransport",
    "AsyncRouter",
    "AudioPart",
    "AuthenticationError",
    "BadRequestError",
    "Budget",
    "BudgetExceededError",
    "CacheControl",
    "ChatCompletionChunk",
    "ChatCompletionRequest",
    "ChatCompletionResponse",
    "ChatCompletionStream",
    "Choice",
    "ChunkChoice",
    "CircuitBreaker",
    "Client",
    "ClientConfig",
    "ConfigurationError",
    "ConflictError",
    "ContentFilterError",
    "ContentPart",
    "ContextLengthExceededError",
    "Conversation",
    "ConversationCorruptedError",
    "Cost",
    "Delta",
    "DocumentPart",
    "Embedding",
    "EmbeddingsRequest",
    "EmbeddingsResponse",
    "EmbeddingsUsage",
    "FinishReason",
    "FunctionCall",
    "FunctionCallDelta",
    "FunctionDefinition",
    "FunctionTool",
    "ImagePart",
    "ImageURL",
    "InputAudio",
    "InternalServerError",
    "InvalidRequestError",
    "InvalidSessionIdError",
    "LLMCallInfo",
    "LatencyStats",
    "LocalRouterState",
    "LoggingHook",
    "MaxStepsExceededError",
    "MemoryConfig",
    "MemoryStoreError",
    "Message",
    "MetaLLMError",
    "MetricsCollector",
    "ModelPrice",
    "ModelStats",
    "NotFoundError",
    "ObservabilityHook",
    "OverloadedError",
    "ParseStream",
    "ParsedResponse",
    "PermissionDeniedError",
    "ProviderName",
    "RateLimit",
    "RateLimitError",
    "ReasoningDelta",
    "ReasoningPart",
    "RedisRouterState",
    "RefusalError",
    "ResponseFormat",
    "ResponseValidationError",
    "RetryEvent",
    "RetryPolicy",
    "RetryTransport",
    "Role",
    "RouteInfo",
    "Router",
    "RouterState",
    "StreamError",
    "StructuredOutputError",
    "Target",
    "TargetStats",
    "TextPart",
    "TokenCount",
    "Tool",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallRecord",
    "ToolExecutionError",
    "ToolRunResult",
    "ToolStep",
    "UnsupportedFeatureError",
    "Usage",
    "__version__",
    "log_context",
    "logger_from_context",
    "models",
    "provider",
    "tool",
]
