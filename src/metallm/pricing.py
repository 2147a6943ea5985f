"""What a call costs: :class:`Cost`, custom :class:`ModelPrice` s and :func:`cost_of`.

This module owns pricing. The prices come from the ``genai-prices`` data
(:mod:`metallm._price_data`, imported at the first cost computation, never at
``import metallm``), or from the user's own ``ClientConfig(prices={model: ModelPrice(...)})``,
which win. The exchange prices every successful call once (:class:`Pricer`, one per client),
before the hooks' ``after_response``, so telemetry, logs and budgets all see the same figure.

The rules are genai-prices' own, applied to metallm's normalised usage (whose
``prompt_tokens`` already counts cached input and whose ``completion_tokens`` already counts
reasoning, as genai-prices' ``input_tokens`` / ``output_tokens`` do): cache reads and cache
writes are taken out of the input and priced at their own rates when the model has them (else
they stay input), reasoning is output (at a reasoning rate only where the data has one), a
tiered rate is chosen by the whole prompt's size, and the response's service tier selects the
data's variant for that tier. A model the data does not know costs ``None``: never a guess,
never 0.

:class:`Cost` itself is defined with the response types (:mod:`metallm.types`, which import
nothing but one another and the errors) and re-exported here.

Speed: a model's rates are resolved once per (provider, model, service tier, UTC day) and
cached (misses too), so a priced call costs a dict lookup and a few Decimal operations.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from ._price_data import PriceSourceError, Rate, Rates, lookup
from .errors import ConfigurationError
from .types import Cost as Cost  # noqa: PLC0414 (defined with the response types; owned here)

__all__ = ["PROVIDER_IDS", "Cost", "ModelPrice", "Pricer", "check_prices", "clear_cache", "cost_of"]

PROVIDER_IDS: Mapping[str, str | None] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gemini": "google",
    "xai": "x-ai",
    "bedrock": "aws",
    "ollama": None,  # local models: no price
    "azure_openai": "azure",  # priced by the response's model (the deployment's real model)
}
"""metallm provider names -> genai-prices provider ids (None: never priced). Any other name
(a custom provider) is priced only if it is exactly a genai-prices provider id."""

_ZERO = Decimal(0)
_MILLION = 1_000_000


def _amount(name: str, value: object) -> Decimal:
    """``value`` as a finite, non-negative Decimal, or a ConfigurationError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, float, str)):
        raise ConfigurationError(f"ModelPrice {name}={value!r} is not a number")
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError):
        raise ConfigurationError(f"ModelPrice {name}={value!r} is not a number") from None
    if not amount.is_finite() or amount < 0:
        raise ConfigurationError(f"ModelPrice {name}={value!r} must be a finite number >= 0")
    return amount


class ModelPrice:
    """A model's price per million tokens, for ``ClientConfig(prices={model: ModelPrice(...)})``.

    ``input`` and ``output`` are required; ``cache_read`` and ``cache_write`` default to the
    input price (no discount assumed). Amounts are Decimals (ints, numeric strings and floats
    are converted; a float through its shortest repr); a negative or non-numeric amount or a
    currency that is not an ISO 4217-shaped code is a :class:`~metallm.ConfigurationError`.
    Costs in another currency than USD are reported on responses but not as the
    ``gen_ai.usage.cost`` span attribute or metric, which are USD.
    """

    __slots__ = ("cache_read", "cache_write", "currency", "input", "output")

    def __init__(
        self,
        input: Decimal | int | float | str,
        output: Decimal | int | float | str,
        cache_read: Decimal | int | float | str | None = None,
        cache_write: Decimal | int | float | str | None = None,
        *,
        currency: str = "USD",
    ) -> None:
        if not _is_currency_code(currency):
            raise ConfigurationError(
                f"ModelPrice currency={currency!r} is not a currency code such as 'USD'"
            )
        self.input = _amount("input", input)
        self.output = _amount("output", output)
        self.cache_read = None if cache_read is None else _amount("cache_read", cache_read)
        self.cache_write = None if cache_write is None else _amount("cache_write", cache_write)
        self.currency = currency

    def _key(self) -> tuple[Any, ...]:
        return (self.input, self.output, self.cache_read, self.cache_write, self.currency)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ModelPrice) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"ModelPrice(input={self.input}, output={self.output}, cache_read={self.cache_read},"
            f" cache_write={self.cache_write}, currency={self.currency!r})"
        )

    def cost(self, usage: Any) -> Cost | None:
        """What ``usage`` costs at this price."""
        input_rate = Rate(self.input)
        rates = Rates(
            input=input_rate,
            output=Rate(self.output),
            cache_read=Rate(self.cache_read) if self.cache_read is not None else input_rate,
            cache_write=Rate(self.cache_write) if self.cache_write is not None else input_rate,
            reasoning=None,
            request=_ZERO,
            tiered=False,
            volatile=False,
        )
        return price(rates, usage, self.currency, "custom")


def _is_currency_code(code: object) -> bool:
    """ISO 4217's shape: three upper-case ASCII letters (``USD``, ``EUR``)."""
    return isinstance(code, str) and len(code) == 3 and code.isascii() and code.isupper()


def check_prices(prices: object) -> dict[str, ModelPrice]:
    """A client's ``prices`` as a dict of model name -> :class:`ModelPrice`, checked."""
    if prices is None:
        return {}
    if not isinstance(prices, Mapping):
        raise ConfigurationError(
            f"prices must be a mapping of model name to ModelPrice, not {prices!r}"
        )
    for model, value in prices.items():
        if not isinstance(model, str) or not model:
            raise ConfigurationError(
                f"prices: model names must be non-empty strings, not {model!r}"
            )
        if not isinstance(value, ModelPrice):
            raise ConfigurationError(f"prices[{model!r}] must be a ModelPrice, not {value!r}")
    return dict(prices)


def price(rates: Rates, usage: Any, currency: str = "USD", source: str = "local") -> Cost | None:
    """What ``usage`` costs at ``rates`` (None if the usage is inconsistent: more cached
    tokens than prompt tokens, more reasoning than output)."""
    prompt: int = usage.prompt_tokens
    completion: int = getattr(usage, "completion_tokens", 0)
    at = prompt if rates.tiered else 0
    leaf = prompt
    cache_read = cache_write = _ZERO
    rate = rates.cache_read
    if rate is not None:
        cached = getattr(usage, "cached_tokens", None)
        if cached:
            leaf -= cached
            cache_read = rate.at(at) * cached / _MILLION
    rate = rates.cache_write
    if rate is not None:
        written = getattr(usage, "cache_write_tokens", None)
        if written:
            leaf -= written
            cache_write = rate.at(at) * written / _MILLION
    rate = rates.input
    input_cost = rate.at(at) * leaf / _MILLION if rate is not None and leaf else _ZERO
    output = _ZERO
    rate = rates.reasoning
    if rate is not None:
        reasoning = getattr(usage, "reasoning_tokens", None)
        if reasoning:
            completion -= reasoning
            output = rate.at(at) * reasoning / _MILLION
    rate = rates.output
    if rate is not None and completion:
        output += rate.at(at) * completion / _MILLION
    if leaf < 0 or completion < 0:
        return None
    total = input_cost + cache_read + cache_write + output + rates.request
    return Cost(input_cost, output, cache_read, cache_write, total, currency, source)


# -- the cached lookup -------------------------------------------------------------------------

_CACHE: dict[tuple[str, str, str | None, int], Rates | None] = {}
_CACHE_LIMIT = 4096
_broken: list[BaseException] = []  # the price source's failure, once it failed


def clear_cache() -> None:
    """Forget every cached price lookup and a price source that failed (it is read again)."""
    _CACHE.clear()
    _broken.clear()


def _rates(
    provider_id: str, model: str, service_tier: str | None, logger: logging.Logger
) -> Rates | None:
    key = (provider_id, model, service_tier, int(time.time() // 86400))
    try:
        return _CACHE[key]
    except KeyError:
        pass
    if _broken:
        return None
    try:
        rates = lookup(provider_id, model, service_tier)
    except PriceSourceError as exc:
        _broken.append(exc)
        logger.warning("metallm cannot read its price data, so costs are None: %s", exc)
        return None
    except Exception as exc:  # one model's data is unusable: say so once, price it None
        logger.warning(
            "price data for %s/%s is unusable, its cost is None: %r", provider_id, model, exc
        )
        rates = None
    if rates is None or not rates.volatile:
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        _CACHE[key] = rates
    return rates


_LOGGER = logging.getLogger("metallm")


class Pricer:
    """One client's pricing: its provider's price-data id and its custom prices."""

    __slots__ = ("logger", "prices", "provider_id")

    def __init__(
        self,
        provider_name: str,
        prices: Mapping[str, ModelPrice] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.provider_id = PROVIDER_IDS.get(provider_name, provider_name)
        self.prices = dict(prices) if prices else None
        self.logger = logger or _LOGGER

    def cost(
        self, model: str, requested: str, usage: Any, service_tier: str | None = None
    ) -> Cost | None:
        """The cost of ``usage`` on ``model`` (the response's model; ``requested``, the
        request's, when the price data or the custom prices know only that name)."""
        prices = self.prices
        if prices is not None:
            custom = prices.get(model) or prices.get(requested)
            if custom is not None:
                return custom.cost(usage)
        provider_id = self.provider_id
        if provider_id is None:
            return None
        rates = _rates(provider_id, model, service_tier, self.logger) if model else None
        if rates is None and requested and requested != model:
            rates = _rates(provider_id, requested, service_tier, self.logger)
        return price(rates, usage) if rates is not None else None


def cost_of(
    provider: str,
    model: str,
    usage: Any,
    service_tier: str | None = None,
    *,
    prices: Mapping[str, ModelPrice] | None = None,
) -> Cost | None:
    """What ``usage`` (a :class:`~metallm.Usage` or embeddings usage) on ``provider``'s
    ``model`` costs, or None when the price data does not know the model.

    ``provider`` is a metallm provider name (``openai``, ``gemini``, ...); ``prices`` are
    custom prices that win over the data, as a client's ``prices`` do.
    """
    return Pricer(provider, check_prices(prices)).cost(model, model, usage, service_tier)
