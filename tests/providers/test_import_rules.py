"""What the built-in providers may import: they are built on the public interface only.

Every module under ``metallm/providers/`` imports only the standard library (never asyncio),
the public provider interface (``metallm.provider``'s public names, ``metallm.types``,
``metallm.errors``, ``metallm.models``, ``metallm.embeddings``) and its own or a sibling
provider package: never the package root, a private metallm module, httpx, asyncio or
opentelemetry. Bedrock may import botocore, inside functions only (``import metallm`` must
not load it). And the registry knows no built-in provider: ``metallm._builtins`` registers
them, so the two do not import each other.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import metallm.provider
import metallm.providers

PROVIDERS = Path(metallm.providers.__file__).parent
PUBLIC = {
    "metallm.provider",
    "metallm.types",
    "metallm.errors",
    "metallm.models",
    "metallm.embeddings",
}
FORBIDDEN_TOP = {"httpx", "asyncio", "opentelemetry"}
MODULES = sorted(PROVIDERS.rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PROVIDERS.parent.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> Iterator[tuple[str, list[str], bool]]:
    """``(absolute module, imported names, at module level)`` for every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    top_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], id(node) in top_level
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            yield module, [a.name for a in node.names], id(node) in top_level


def _allowed(module: str, names: list[str], at_top: bool, provider: str) -> str | None:
    """Why an import breaks the rules, or ``None``."""
    top = module.partition(".")[0]
    if top in FORBIDDEN_TOP:
        return "no I/O, event loop or telemetry in a codec"
    if top == "__future__" or top in sys.stdlib_module_names:
        return None
    if top == "botocore":
        if provider != "bedrock":
            return "only Bedrock uses botocore"
        return None if not at_top else "botocore only inside functions (import metallm stays lean)"
    if top != "metallm":
        return "third-party packages are not part of the provider interface"
    if module.startswith("metallm.providers."):
        return None  # its own package's modules, or a sibling provider package's
    if module == "metallm":
        return "never the package root: import from metallm.provider/types/errors"
    if module not in PUBLIC:
        return "private metallm module"
    if module == "metallm.provider":
        private = [n for n in names if n.startswith("_")]
        if private:
            return f"private names of metallm.provider: {private}"
    return None


def _violations(path: Path) -> Iterator[str]:
    provider = path.relative_to(PROVIDERS).parts[0]
    for module, names, at_top in _imports(path):
        why = _allowed(module, names, at_top, provider)
        if why:
            yield f"{path.relative_to(PROVIDERS)} imports {module} {names or ''}: {why}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PROVIDERS)))
def test_provider_module_imports_only_the_public_interface(path: Path) -> None:
    assert list(_violations(path)) == []


def test_the_rules_catch_what_they_forbid() -> None:
    def why(module: str, names: tuple[str, ...] = (), top: bool = True, p: str = "x") -> str | None:
        return _allowed(module, list(names), top, p)

    assert why("metallm") and why("metallm._construct") and why("metallm._sse")
    assert why("metallm.provider._errors") and why("metallm.provider", ("_load",))
    assert why("httpx") and why("asyncio") and why("opentelemetry.trace") and why("pydantic")
    assert why("botocore.auth", p="bedrock") and why("botocore.auth", top=False, p="openai")
    assert why("botocore.auth", top=False, p="bedrock") is None
    assert why("metallm.provider", ("HTTPCodec",)) is None and why("json") is None
    assert why("metallm.providers.openai.codec") is None


def test_relative_imports_are_resolved() -> None:
    found = {m for m, _, _ in _imports(PROVIDERS / "xai" / "codec.py")}
    assert {"metallm.provider", "metallm.providers.openai.codec"} <= found


def test_every_provider_package_is_checked() -> None:
    checked = {p.relative_to(PROVIDERS).parts[0] for p in MODULES}
    assert {"openai", "xai", "anthropic", "gemini", "ollama", "bedrock"} <= checked


def test_registry_does_not_import_the_builtins() -> None:
    registry = Path(metallm.provider.__file__).parent / "_registry.py"
    for node in ast.walk(ast.parse(registry.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            assert "_builtins" not in (node.module or ""), "registry imports the built-ins"
            assert all("_builtins" not in a.name for a in node.names)
