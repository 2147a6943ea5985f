"""Embeddings parsing cost: ``.venv/bin/python benchmarks/embeddings_bench.py [--reps N]``.

Builds the bodies of a 2,048 x 1,536 embeddings reply (OpenAI floats with the 9 significant
digits the API sends, OpenAI base64 float32, Gemini ``batchEmbedContents`` and Ollama
``/api/embed`` floats) and times, with ``time.perf_counter``, the best of ``--reps`` runs of
each codec's ``parse_embeddings_response`` against its floor, in alternation:

* a float reply against ``json.loads`` of the same body (target: at most 1.3x);
* the base64 reply against decoding it with the standard library alone, ``json.loads`` then
  ``struct.unpack`` of each ``base64.b64decode``d vector (target: at most 1.3x).

It prints one row per reply with both times and the ratio, PASS or MISS. ``--check`` makes a
MISS exit 1. Standalone: not part of ``make test`` or ``benchmarks/run.py``.
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import random
import struct
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from metallm import EmbeddingsRequest
from metallm.provider import HTTPResponse, ProviderSettings
from metallm.providers.gemini import create as gemini
from metallm.providers.ollama import create as ollama
from metallm.providers.openai import create as openai

TARGET = 1.3


def vectors(count: int, dims: int) -> list[list[float]]:
    rng = random.Random(1536)
    return [[rng.gauss(0.0, 0.025) for _ in range(dims)] for _ in range(count)]


def float_list(vector: list[float]) -> str:
    return "[" + ",".join(f"{x:.9g}" for x in vector) + "]"


def openai_float_body(vecs: list[list[float]]) -> bytes:
    items = ",".join(
        f'{{"object":"embedding","index":{i},"embedding":{float_list(v)}}}'
        for i, v in enumerate(vecs)
    )
    tail = '"model":"text-embedding-3-small","usage":{"prompt_tokens":9,"total_tokens":9}}'
    return f'{{"object":"list","data":[{items}],{tail}'.encode()


def openai_base64_body(vecs: list[list[float]]) -> bytes:
    data = [
        {
            "object": "embedding",
            "index": i,
            "embedding": base64.b64encode(struct.pack(f"<{len(v)}f", *v)).decode(),
        }
        for i, v in enumerate(vecs)
    ]
    usage = {"prompt_tokens": 9, "total_tokens": 9}
    body = {"object": "list", "data": data, "model": "text-embedding-3-small", "usage": usage}
    return json.dumps(body).encode()


def gemini_body(vecs: list[list[float]]) -> bytes:
    items = ",".join(f'{{"values":{float_list(v)}}}' for v in vecs)
    return f'{{"embeddings":[{items}]}}'.encode()


def ollama_body(vecs: list[list[float]]) -> bytes:
    items = ",".join(float_list(v) for v in vecs)
    return f'{{"model":"m","embeddings":[{items}],"prompt_eval_count":9}}'.encode()


def timed(fn: Callable[[], Any]) -> float:
    """Seconds for one run of ``fn``, after a fresh collection."""
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def struct_decode(body: bytes) -> list[list[float]]:
    """The floor for base64: the standard library alone, no checks, no models."""
    out = []
    for item in json.loads(body)["data"]:
        raw = base64.b64decode(item["embedding"])
        out.append(list(struct.unpack(f"<{len(raw) // 4}f", raw)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--reps", type=int, default=5, help="timed runs per figure (best kept)")
    parser.add_argument("--inputs", type=int, default=2048)
    parser.add_argument("--dims", type=int, default=1536)
    parser.add_argument("--check", action="store_true", help="exit 1 when a ratio misses")
    args = parser.parse_args(argv)

    vecs = vectors(args.inputs, args.dims)
    request = EmbeddingsRequest(model="m", input=["text"] * args.inputs)
    oa = openai(ProviderSettings("openai", "sk-bench", ""))
    gm = gemini(ProviderSettings("gemini", "k-bench", ""))
    ol = ollama(ProviderSettings("ollama", None, ""))
    cases: list[tuple[str, Any, bytes, str]] = [
        ("openai float", oa, openai_float_body(vecs), "json.loads"),
        ("openai base64", oa, openai_base64_body(vecs), "json.loads + struct"),
        ("gemini batchEmbedContents", gm, gemini_body(vecs), "json.loads"),
        ("ollama /api/embed", ol, ollama_body(vecs), "json.loads"),
    ]
    print(
        f"{args.inputs} x {args.dims} vectors, best of {args.reps}, Python {sys.version.split()[0]}"
    )
    print(f"{'reply':<28}{'body MB':>9}{'floor':>22}{'floor s':>10}{'parse s':>10}{'ratio':>8}")
    missed = False
    for name, codec, body, floor_name in cases:
        reply = HTTPResponse(200, {"content-type": "application/json"}, body)
        floor_fn: Callable[[], Any] = partial(
            json.loads if floor_name == "json.loads" else struct_decode, body
        )
        parse_fn = partial(codec.parse_embeddings_response, reply, request)
        parsed = parse_fn()
        assert len(parsed.data) == args.inputs and parsed.dimensions == args.dims
        floor_t = parse_t = float("inf")
        for _ in range(args.reps):  # alternate, so drift in machine load hits both alike
            floor_t = min(floor_t, timed(floor_fn))
            parse_t = min(parse_t, timed(parse_fn))
        ratio = parse_t / floor_t
        verdict = "PASS" if ratio <= TARGET else "MISS"
        missed |= ratio > TARGET
        print(
            f"{name:<28}{len(body) / 1e6:>9.1f}{floor_name:>22}{floor_t:>10.3f}{parse_t:>10.3f}"
            f"{ratio:>7.2f}x {verdict}"
        )
    print(f"target: parse at most {TARGET}x its floor")
    return 1 if missed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
