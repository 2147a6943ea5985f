"""Client configuration: one dataclass, also accepted as keyword arguments of the clients.

``api_key`` is kept out of ``repr`` and never logged. ``provider`` names a registered provider
(:class:`ProviderName` lists the built-ins); ``custom_provider`` injects any object implementing
a protocol of :mod:`metallm.provider` instead.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from .retry import RetryPolicy

if TYPE_CHECKING:  # annotations only: ``import metallm`` loads neither memory nor pricing
    from .memory.base import MemoryConfig
    from .pricing import ModelPrice

__all__ = ["DEFAULT_TIMEOUT", "ClientConfig", "ProviderName"]

DEFAULT_TIMEOUT = httpx.Timeout(600.0, connect=10.0)
"""600 s for the whole of a long generation, 10 s to connect."""


class ProviderName(str, enum.Enum):
    """Names of the built-in providers, for ``Client(provider=...)``."""

    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    GEMINI = "gemini"
    XAI = "xai"
    BEDROCK = "bedrock"
    OLLAMA = "ollama"
    GROQ = "groq"
    MISTRAL = "mistral"
    DEEPSEEK = "deepseek"
    OPENROUTER = "openrouter"
    TOGETHER = "together"
    FIREWORKS = "fireworks"
    CEREBRAS = "cerebras"
    PERPLEXITY = "perplexity"
    OPENAI_COMPATIBLE = "openai_compatible"
    AZURE_OPENAI = "azure_openai"
    OPENAI_RESPONSES = "openai_responses"
    """OpenAI's Responses API: the same as ``provider="openai", extra={"api": "responses"}``."""

    def __str__(self) -> str:
        return self.value


@dataclass
class ClientConfig:
    """Everything a client needs; see the README's configuration table.

    ``hooks=None`` means the default hooks; ``hooks=[]`` means none. ``retry`` wins over
    ``max_retries``; ``http_client`` is a user's own ``httpx.Client`` (or ``AsyncClient`` for
    :class:`~metallm.AsyncClient`), which metallm then never closes. ``memory`` is a conversation
    store (:mod:`metallm.memory`; an ``InMemoryStore`` when None) and ``memory_config`` its
    :class:`~metallm.MemoryConfig` (the defaults when None). ``budget`` is a
    :class:`~metallm.Budget` or a :class:`~metallm.budget_redis.RedisBudget`: calls stop with
    :class:`~metallm.BudgetExceededError` once its window is spent.
    ``preflight_context_check=True`` refuses a chat request that cannot fit the model's context
    window with :class:`~metallm.ContextLengthExceededError` before any I/O (local count only;
    see :mod:`metallm._counting` for exactly when).
    ``prices`` maps model names to :class:`~metallm.ModelPrice` s that win over the
    genai-prices data for ``response.cost``.
    ``recorder`` is a :class:`metallm.testing.Recorder`: the client's HTTP exchanges are
    recorded to (or replayed from) its folder.
    """

    provider: str | None = None
    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    timeout: float | httpx.Timeout | None = None
    max_retries: int | None = None
    retry: RetryPolicy | None = None
    http_client: httpx.Client | httpx.AsyncClient | None = None
    hooks: Sequence[object] | None = None
    custom_provider: object | None = None
    logger: logging.Logger | None = None
    capture_content: str | bool | None = None
    memory: object | None = None
    memory_config: MemoryConfig | None = None
    budget: object | None = None
    preflight_context_check: bool = False
    prices: Mapping[str, ModelPrice] | None = None
    recorder: object | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def retry_policy(self) -> RetryPolicy:
        """The effective retry policy."""
        if self.retry is not None:
            return self.retry
        if self.max_retries is not None:
            return RetryPolicy(max_retries=self.max_retries)
        return RetryPolicy()

    def httpx_timeout(self) -> httpx.Timeout:
        """The effective timeout as an ``httpx.Timeout``."""
        if self.timeout is None:
            return DEFAULT_TIMEOUT
        if isinstance(self.timeout, httpx.Timeout):
            return self.timeout
        return httpx.Timeout(float(self.timeout), connect=min(10.0, float(self.timeout)))
