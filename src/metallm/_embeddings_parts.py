"""Splitting an embeddings request longer than the provider's per-request limit, and merging
the parts' replies back into one: the pure pieces of :meth:`metallm._exchange.Exchange.embeddings`.
"""

from __future__ import annotations

from typing import Any

from .embeddings import Embedding, EmbeddingsRequest, EmbeddingsResponse, EmbeddingsUsage
from .provider import construct

__all__ = ["batch_limit", "merge", "split"]


def batch_limit(codec: Any, request: EmbeddingsRequest) -> int:
    """The codec's per-request input limit for this request (0 or less: no limit)."""
    per_model = getattr(codec, "embeddings_batch_limit", None)
    limit = (
        per_model(request) if callable(per_model) else getattr(codec, "max_embeddings_inputs", 0)
    )
    return int(limit or 0)


def split(request: EmbeddingsRequest, limit: int) -> list[EmbeddingsRequest]:
    """``request`` as parts of at most ``limit`` inputs (itself when it fits)."""
    inputs = request.inputs
    if limit <= 0 or len(inputs) <= limit:
        return [request]
    return [
        request.model_copy(update={"input": inputs[start : start + limit]})
        for start in range(0, len(inputs), limit)
    ]


def merge(results: list[EmbeddingsResponse]) -> EmbeddingsResponse:
    """The parts' replies (each checked, in order) as one, re-indexed, usage summed."""
    data: list[Embedding] = []
    prompt = total = 0
    for result in results:
        offset = len(data)
        for item in result.data:
            data.append(
                construct(
                    Embedding,
                    {
                        "index": offset + item.index,
                        "embedding": item.embedding,
                        "object": "embedding",
                    },
                )
            )
        prompt += result.usage.prompt_tokens
        total += result.usage.total_tokens
    first = results[0]
    usage = construct(EmbeddingsUsage, {"prompt_tokens": prompt, "total_tokens": total})
    return construct(
        EmbeddingsResponse,
        {
            "model": first.model,
            "provider": first.provider,
            "data": data,
            "usage": usage,
            "object": "list",
            "cost": None,
        },
    )
