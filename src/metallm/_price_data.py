"""The one door to the ``genai-prices`` data: a model's token rates, read once and typed.

``genai-prices`` (pydantic's price database, its data shipped inside the package) is the price
source; metallm writes no price table of its own. It is imported here, lazily, at the first cost
computation: importing it costs about 100 ms (its pydantic types and a 1.5 MB data module),
which ``import metallm`` must not pay. Only its data modules are used (``data_snapshot`` and
``types``), never its updater: prices are never fetched over the network.

Its own ``calc_price`` is exact but generic (a unit registry and a leaf decomposition: about
65 us a call), too slow for every call. So this module resolves a model's prices once, through
genai-prices' own lookup (model matching, provider fallbacks, date-conditional prices, the
service-tier variants), into a flat :class:`Rates`; :mod:`metallm.pricing` caches it and applies
the same arithmetic to metallm's usage (a test checks it equals ``calc_price`` for every model
of every built-in provider).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

__all__ = ["PriceSourceError", "Rate", "Rates", "lookup"]


class PriceSourceError(Exception):
    """The price data cannot be read (genai-prices missing or broken)."""


class Rate:
    """A price in USD per million tokens, flat or tiered by prompt size.

    Tiers follow genai-prices' "cliff" rule: once the prompt (every input token, cached ones
    included) exceeds a tier's start, that tier's price applies to all the tokens of that kind.
    (Plain slotted classes here, not dataclasses: ``import metallm`` pays for every class
    built at import, and these are internal.)
    """

    __slots__ = ("base", "tiers")

    def __init__(self, base: Decimal, tiers: tuple[tuple[int, Decimal], ...] = ()) -> None:
        self.base = base
        self.tiers = tiers

    def __repr__(self) -> str:
        return f"Rate({self.base!r}, {self.tiers!r})"

    def at(self, prompt_tokens: int) -> Decimal:
        """The price per million tokens for a call whose prompt has ``prompt_tokens``."""
        for start, price in reversed(self.tiers):
            if prompt_tokens > start:
                return price
        return self.base


class Rates:
    """One model's resolved token rates (None: that kind of token is not priced apart).

    ``request`` is a fee per request (a few models have one), ``tiered`` whether any rate
    depends on the prompt size, ``volatile`` whether the prices change with the time of day
    (off-peak pricing), so that the resolution must not be cached for the day.
    """

    __slots__ = (
        "cache_read",
        "cache_write",
        "input",
        "output",
        "reasoning",
        "request",
        "tiered",
        "volatile",
    )

    def __init__(
        self,
        *,
        input: Rate | None,
        output: Rate | None,
        cache_read: Rate | None,
        cache_write: Rate | None,
        reasoning: Rate | None,
        request: Decimal,
        tiered: bool,
        volatile: bool,
    ) -> None:
        self.input = input
        self.output = output
        self.cache_read = cache_read
        self.cache_write = cache_write
        self.reasoning = reasoning
        self.request = request
        self.tiered = tiered
        self.volatile = volatile


_module: list[Any] = []  # genai_prices.data_snapshot, once imported


def _get_snapshot() -> Any:
    """genai-prices' bundled data snapshot, imported on first use."""
    if not _module:
        try:
            from genai_prices import data_snapshot
        except Exception as exc:  # not installed (Python 3.10), or broken
            raise PriceSourceError(f"genai-prices cannot be imported: {exc!r}") from exc
        _module.append(data_snapshot)
    try:
        return _module[0].get_snapshot()
    except Exception as exc:
        raise PriceSourceError(f"genai-prices data cannot be read: {exc!r}") from exc


def lookup(provider_id: str, model: str, service_tier: str | None) -> Rates | None:
    """The rates of ``model`` at ``provider_id`` today (None: the data does not know it).

    ``service_tier`` (the tier the response reports) selects genai-prices' price variants for
    it; a tier the data has no variant for leaves the standard prices. Raises
    :class:`PriceSourceError` when the data cannot be read at all.
    """
    from datetime import datetime, timezone

    snapshot = _get_snapshot()
    try:
        provider, info = snapshot.find_provider_model(model, None, provider_id, None)
    except LookupError:
        return None
    if provider.id != provider_id:  # matched loosely (a custom provider's name): no guess
        return None
    now = datetime.now(tz=timezone.utc)
    context = {"service_tier": service_tier} if service_tier else None
    # genai-prices applies request context only to the provider's own models, not to models
    # found through a fallback provider (ModelInfo.calc_price): the same here
    if context and not any(info is own for own in provider.models):
        context = None
    return _rates(info.get_prices(now, context), _is_volatile(info))


def _rate(value: Any) -> Rate | None:
    if value is None:
        return None
    tiers = getattr(value, "tiers", None)
    if tiers is None:
        return Rate(value)
    ordered = sorted(tiers, key=lambda tier: tier.start)
    return Rate(value.base, tuple((tier.start, tier.price) for tier in ordered))


def _rates(price: Any, volatile: bool) -> Rates:
    values: dict[str, Any] = {
        key: value for key, value in vars(price).items() if not key.startswith("_")
    }
    rates = {
        name: _rate(values.get(key))
        for name, key in (
            ("input", "input_mtok"),
            ("output", "output_mtok"),
            ("cache_read", "cache_read_mtok"),
            ("cache_write", "cache_write_mtok"),
            ("reasoning", "output_reasoning_mtok"),
        )
    }
    per_thousand = values.get("requests_kcount")
    request = per_thousand / 1000 if per_thousand is not None else Decimal(0)
    tiered = any(rate is not None and rate.tiers for rate in rates.values())
    return Rates(**rates, request=request, tiered=tiered, volatile=volatile)


def _is_volatile(info: Any) -> bool:
    """Whether any of the model's prices depends on the time of day."""
    constraints = (
        [getattr(c, "constraint", None) for c in info.prices or ()]
        if isinstance(info.prices, list)
        else []
    )
    constraints += [v.constraint for v in info.price_variants or ()]
    return any(hasattr(c, "start_time") for c in constraints)
