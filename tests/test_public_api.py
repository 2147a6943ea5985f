"""The public surface: ``__all__`` sorted and complete, documented, and a lean import."""

from __future__ import annotations

import re
import subprocess
import sys
import types
from pathlib import Path

import metallm
from metallm import errors
from metallm import types as mtypes

ROOT = Path(__file__).resolve().parents[1]


def test_all_is_sorted_unique_and_resolvable() -> None:
    names = metallm.__all__
    assert names == sorted(names), "keep metallm.__all__ sorted"
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(metallm, name), name


def test_all_covers_every_public_type_and_error() -> None:
    for module in (errors, mtypes):
        for name in module.__all__:
            if name in {
                "error_class_for_status",
                "redact",
                "scrub",
                "contains_secret",  # the redaction helpers, like redact and scrub
                "redact_value",
                "secret_forms",
            }:
                continue
            assert name in metallm.__all__, f"{module.__name__}.{name} missing from metallm"
    for name in ("Client", "AsyncClient", "ClientConfig", "ProviderName", "RetryPolicy"):
        assert name in metallm.__all__


def test_no_public_name_left_out_of_all() -> None:
    submodules = {n for n, v in vars(metallm).items() if isinstance(v, types.ModuleType)}
    public = {n for n in vars(metallm) if not n.startswith("_")} - submodules
    assert public <= set(metallm.__all__), public - set(metallm.__all__)


def test_every_public_name_is_documented() -> None:
    docs = (ROOT / "README.md").read_text(encoding="utf-8")
    docs += "".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "examples").glob("*.py")))
    missing = [n for n in metallm.__all__ if not re.search(rf"\b{re.escape(n)}\b", docs)]
    assert not missing, f"document these in README.md or an example: {missing}"


def test_import_pulls_no_sdk_exporter_or_provider_codec() -> None:
    code = (
        "import sys, metallm; bad = [m for m in sys.modules if m.split('.')[0] in "
        "('redis', 'botocore', 'boto3', 'openai', 'anthropic', 'google') or "
        "m.startswith(('opentelemetry.sdk', 'opentelemetry.exporter', 'metallm.providers.'))]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


LAZY_MODULES = (
    "asyncio",  # the tool loop's async runner
    "concurrent.futures",  # the tool loop's thread pool
    "subprocess",
    "difflib",  # "did you mean" hints: only once a field is unknown
    "gzip",  # tiktoken's loader, for token counting
    "importlib.resources",
    "metallm.tools._flow",
    "metallm.tools._execute",
    "metallm.tools._define",
    "metallm.tools._result",
    "metallm.structured",
    "metallm._outer_call",
    "metallm.memory.base",
    "metallm.memory.manager",
    "metallm.memory.inmemory",
    "metallm.pricing",
    "metallm._price_data",
    "metallm.budget",
    "metallm._spending",
    "metallm._counting",
    "metallm._count_flow",
    "metallm._tiktoken",
    "metallm.router",
    "metallm.models",
)
"""What ``import metallm`` must not load: features a plain chat call never runs (metallm._LAZY)."""


def test_import_leaves_unused_features_unloaded_and_lazy_names_resolve() -> None:
    """``import metallm`` loads none of LAZY_MODULES; each lazy public name then resolves to
    the very object its own module defines, and ``dir(metallm)`` lists every public name."""
    code = f"""
import importlib, sys
import metallm
lazy = {LAZY_MODULES!r}
loaded = [m for m in lazy if m in sys.modules or any(k.startswith(m + ".") for k in sys.modules)]
assert not loaded, f"import metallm loaded {{loaded}}"
assert set(metallm.__all__) <= set(dir(metallm)), set(metallm.__all__) - set(dir(metallm))
for name, sub in sorted(metallm._LAZY.items()):
    value = getattr(metallm, name)
    owner = importlib.import_module("metallm." + sub)
    assert value is (owner if sub == name else getattr(owner, name)), name
    assert vars(metallm)[name] is value, name  # kept: the next access is a plain attribute
for package in (metallm.tools, metallm.memory):
    for name in package.__all__:
        if name not in ("RedisStore",):  # needs the redis extra
            assert getattr(package, name) is getattr(
                importlib.import_module(package.__name__ + "." + package._LAZY[name]), name
            ), name
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_plain_client_builds_its_memory_at_first_use() -> None:
    """A client without ``memory``/``budget``/``prices`` loads none of their modules; its
    default memory is built (once, an in-memory store) when first used."""
    code = """
import sys
import metallm
client = metallm.Client(provider="openai", api_key="sk-test-dummy", hooks=[])
held = [m for m in ("metallm.memory.manager", "metallm.memory.inmemory", "metallm.budget",
                    "metallm._spending", "metallm._count_flow") if m in sys.modules]
assert not held, held
memory = client.memory
from metallm.memory import ConversationMemory, InMemoryStore
assert isinstance(memory, ConversationMemory) and isinstance(memory.store, InMemoryStore)
assert client.memory is memory
client.create_conversation_with_system_message("s-1", "be terse")
assert [m.content for m in client.get_conversation_messages("s-1")] == ["be terse"]
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_py_typed_marker_ships() -> None:
    assert (ROOT / "src" / "metallm" / "py.typed").exists()
