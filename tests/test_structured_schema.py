"""Response models into schemas: every kind of type pydantic takes, strict shaping, wrapping,
and bad input refused before any I/O (naming the type)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

import metallm
from _helpers import MODES
from _structured_helpers import client_kwargs, messages, parse
from metallm.structured._schema import output_schema
from metallm.testing import FakeLLMServer, ScriptedReply


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


class Movie(TypedDict):
    title: str
    year: int


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool


class Described(BaseModel):
    pet: Cat = Field(description="the pet")


class Tree(BaseModel):
    name: str
    children: list[Tree] = []


CASES: list[tuple[Any, Any, Any]] = [
    (Point, {"x": 1, "y": 2}, Point(1, 2)),
    (Movie, {"title": "Up", "year": 2009}, {"title": "Up", "year": 2009}),
    (Literal["red", "green"], {"value": "green"}, "green"),
    (Cat | Dog, {"value": {"kind": "dog", "good": True}}, Dog(kind="dog", good=True)),
    (int, {"value": 42}, 42),
    (Tree, {"name": "a", "children": [{"name": "b", "children": []}]}, None),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("response_model", "wire", "expected"), CASES)
def test_every_kind_of_response_model(
    mode: str, response_model: Any, wire: Any, expected: Any
) -> None:
    with FakeLLMServer() as server:
        server.enqueue(ScriptedReply(text=json.dumps(wire)))
        result = parse(
            mode, client_kwargs(server, "openai"), response_model, model="m", messages=messages()
        )
        schema = server.last_request.json["response_format"]["json_schema"]["schema"]
    if expected is None:
        expected = Tree.model_validate(wire)
    assert result.parsed == expected
    assert schema["type"] == "object" and schema["additionalProperties"] is False


def test_strict_shaping_inlines_refs_with_siblings_and_keeps_recursion() -> None:
    fmt = output_schema(Described).shaped(True, True).response_format
    schema = (fmt.json_schema or {})["schema"]
    pet = schema["properties"]["pet"]
    assert "$ref" not in pet and pet["description"] == "the pet"
    assert pet["additionalProperties"] is False and pet["required"] == ["kind", "lives"]
    tree = (output_schema(Tree).shaped(True, True).response_format.json_schema or {})["schema"]
    assert tree["required"] == ["name", "children"]  # the defaulted field is required on the wire
    assert tree["type"] == "object"  # the recursive model's definition hoisted to the root
    assert tree["properties"]["children"]["items"] == {"$ref": "#/$defs/Tree"}
    assert tree["$defs"]["Tree"]["additionalProperties"] is False


def test_shapes_are_built_once_per_type_and_provider_kind() -> None:
    first = output_schema(Point)
    assert output_schema(Point) is first
    assert first.shaped(True, True) is first.shaped(True, True)
    assert first.shaped(False, False) is not first.shaped(True, True)


def test_gemini_and_ollama_get_pydantic_schema_unwrapped() -> None:
    shape = output_schema(list[Point]).shaped(False, False)
    assert not shape.wrapped
    assert (shape.response_format.json_schema or {})["schema"]["type"] == "array"
    assert "strict" not in (shape.response_format.json_schema or {})


class Open(BaseModel):
    tags: dict[str, int]


class Anything(BaseModel):
    data: Any


class NotPydantic:
    pass


@pytest.mark.parametrize(
    ("response_model", "provider", "message"),
    [
        (Open, "openai", "Open cannot be made strict: a mapping with open keys"),
        (Anything, "anthropic", "Anything cannot be made strict: it has a field of any type"),
        (NotPydantic, "gemini", "response_model NotPydantic has no JSON schema"),
    ],
)
def test_bad_response_models_are_refused_before_any_io(
    response_model: Any, provider: str, message: str
) -> None:
    with FakeLLMServer() as server:
        with metallm.Client(**client_kwargs(server, provider)) as client:
            with pytest.raises(metallm.InvalidRequestError, match=message):
                client.parse(response_model, model="claude-sonnet-4-5", messages=messages())
            with pytest.raises(metallm.InvalidRequestError, match=message):
                client.parse_stream(response_model, model="claude-sonnet-4-5", messages=messages())
        assert server.requests == []


def test_open_mappings_are_fine_where_schemas_are_not_strict() -> None:
    with FakeLLMServer() as server:
        server.enqueue(ScriptedReply(text='{"tags": {"a": 1}}'))
        with metallm.Client(**client_kwargs(server, "gemini")) as client:
            assert client.parse(Open, model="m", messages=messages()).parsed.tags == {"a": 1}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_validation_retries": -1}, "max_validation_retries must be an int >= 0"),
        ({"max_validation_retries": "2"}, "max_validation_retries must be an int >= 0"),
        ({"response_format": {"type": "json_object"}}, "leave response_format unset"),
    ],
)
def test_bad_parse_arguments_are_refused_before_any_io(
    kwargs: dict[str, Any], message: str
) -> None:
    with FakeLLMServer() as server:
        client = metallm.Client(**client_kwargs(server, "openai"))
        with client, pytest.raises(metallm.InvalidRequestError, match=message):
            client.parse(Point, model="m", messages=messages(), **kwargs)
        assert server.requests == []


def test_a_fenced_reply_still_validates() -> None:
    with FakeLLMServer() as server:
        server.enqueue(ScriptedReply(text='```json\n{"x": 3}\n```'))
        with metallm.Client(**client_kwargs(server, "ollama")) as client:
            assert client.parse(Point, model="m", messages=messages()).parsed == Point(3)


def test_the_parse_benchmark_runs() -> None:
    """``benchmarks/parse_bench.py`` still runs (figures printed, never asserted)."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "parse_bench.py"
    out = subprocess.run(
        [sys.executable, str(script), "--calls", "50", "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "parse - call - validation" in out.stdout and "us" in out.stdout
