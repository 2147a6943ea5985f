"""The dependency rules of DESIGN.md section 3, read from the source's own imports.

Every ``import`` and ``from ... import`` statement of ``src/metallm`` is parsed (lazy imports
inside functions included) and resolved to the module it names; each rule below fails with the
offending file, line and import, so a broken rule says what to move.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "metallm"


@dataclass(frozen=True)
class Edge:
    source: str  # importing module, dotted
    target: str  # imported module (most specific module that exists), dotted
    file: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.text}  ({self.source} -> {self.target})"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _is_package(module: str) -> bool:
    return MODULES.get(module, Path()).name == "__init__.py"


def _resolve(name: str) -> str:
    """The most specific known module a dotted name refers to (or the name itself)."""
    probe = name
    while probe:
        if probe in MODULES:
            return probe
        probe = probe.rpartition(".")[0]
    return name


def _edges() -> list[Edge]:
    edges: list[Edge] = []
    for module, path in sorted(MODULES.items()):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        package = module if _is_package(module) else module.rpartition(".")[0]
        rel = str(path.relative_to(SRC.parent))
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base_parts = package.split(".")
                    base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                    base = ".".join(base_parts)
                    origin = f"{base}.{node.module}" if node.module else base
                else:
                    origin = node.module or ""
                # ``from pkg import sub`` imports the submodule when one exists
                targets = [
                    f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in MODULES else origin
                    for alias in node.names
                ]
            else:
                continue
            text = ast.get_source_segment(path.read_text(encoding="utf-8"), node) or ""
            for target in targets:
                resolved = _resolve(target) if target.startswith("metallm") else target
                edges.append(Edge(module, resolved, rel, node.lineno, text.splitlines()[0]))
    return edges


EDGES = list(dict.fromkeys(_edges()))


def _violations(source_prefix: str, allowed: tuple[str, ...], *, exempt: tuple[str, ...] = ()):
    bad = []
    for edge in EDGES:
        if not (edge.source == source_prefix or edge.source.startswith(source_prefix + ".")):
            continue
        target = edge.target
        if not target.startswith("metallm") and target.split(".")[0] not in (
            "httpx",
            "asyncio",
            "opentelemetry",
            "anyio",
        ):
            continue  # standard library or a third-party library the rule does not name
        if any(target == a or target.startswith(a + ".") for a in allowed):
            continue
        if any(edge.source.startswith(e) for e in exempt):
            continue
        bad.append(str(edge))
    return bad


def test_imports_are_found() -> None:
    assert len(MODULES) > 50
    assert any(e.source == "metallm.client" and e.target == "metallm._exchange" for e in EDGES)


def test_providers_import_only_the_public_provider_interface() -> None:
    allowed_core = ("metallm.provider", "metallm.types", "metallm.errors", "metallm.models")
    allowed_core += ("metallm.embeddings",)
    bad = []
    for edge in EDGES:
        if not edge.source.startswith("metallm.providers."):
            continue
        target = edge.target
        if (
            target.split(".")[0] in ("httpx", "asyncio", "opentelemetry", "anyio")
            or target == "metallm"
            or target.startswith("metallm._")
        ):
            bad.append(str(edge))
        elif target.startswith("metallm.provider."):
            bad.append(str(edge) + "  [private submodule: import from metallm.provider]")
        elif target.startswith("metallm.providers"):
            continue  # its own modules, or a sibling codec it builds on (xai on openai)
        elif target.startswith("metallm") and not any(
            target == a or target.startswith(a + ".") for a in allowed_core
        ):
            bad.append(str(edge))
    assert not bad, "providers/ may import only stdlib and the public interface:\n" + "\n".join(bad)


def test_botocore_is_imported_lazily_and_only_by_bedrock() -> None:
    bad = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module level only
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n.split(".")[0] in ("botocore", "boto3") for n in names):
                bad.append(f"{module}:{node.lineno}")
    assert not bad, f"botocore imported at module level: {bad}"


@pytest.mark.parametrize("module", ["metallm._exchange", "metallm._call", "metallm._actions"])
def test_the_exchange_touches_no_http_library(module: str) -> None:
    bad = [
        str(e)
        for e in EDGES
        if e.source == module
        and (e.target.split(".")[0] == "httpx" or e.target == "metallm._transport")
    ]
    assert not bad, "\n".join(bad)


def test_the_router_drives_exchanges_and_touches_no_http_library() -> None:
    """The router sends nothing itself: its requests go through the targets' exchanges and
    the pumps, and the single-call core never knows about it."""
    router = [m for m in MODULES if m.startswith("metallm.router")]
    bad = [
        str(e)
        for e in EDGES
        if e.source in router
        and (e.target.split(".")[0] == "httpx" or e.target == "metallm._transport")
    ]
    core = ("metallm._exchange", "metallm._call", "metallm._actions", "metallm._pump")
    bad += [str(e) for e in EDGES if e.source in core and e.target.startswith("metallm.router")]
    assert not bad, "\n".join(bad)


def test_types_import_no_client_code() -> None:
    # the unified types (split over types, _parts and _input) import only one another and errors
    data = ("metallm.types", "metallm._parts", "metallm._input")
    for module in (*data, "metallm.embeddings"):
        bad = [
            str(e)
            for e in EDGES
            if e.source == module
            and e.target.startswith("metallm")
            and e.target not in ("metallm.errors", *data)
        ]
        assert not bad, "\n".join(bad)


def test_stores_import_no_telemetry() -> None:
    stores = [m for m in MODULES if m.startswith("metallm.memory.") and "client_methods" not in m]
    bad = [
        str(e)
        for e in EDGES
        if e.source in stores
        and (
            e.target.startswith(("metallm.otel", "metallm.hooks", "opentelemetry"))
            or e.target == "metallm._exchange"
        )
    ]
    assert not bad, "\n".join(bad)


def test_otel_holds_no_provider_facts() -> None:
    names = ("openai", "anthropic", "gemini", "vertex", "bedrock", "ollama", "xai", "x_ai")
    bad = []
    for module, path in MODULES.items():
        if not module.startswith("metallm.otel"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                value = node.value.lower()
                if value in names or "aiplatform" in value or value.startswith("gcp."):
                    bad.append(f"{path.relative_to(SRC.parent)}:{node.lineno}: {node.value!r}")
        bad += [
            str(e) for e in EDGES if e.source == module and e.target.startswith("metallm.providers")
        ]
    assert not bad, "otel/ must read provider facts from LLMCallInfo:\n" + "\n".join(bad)


def test_no_import_circles() -> None:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for e in EDGES:
        if e.target in graph and e.target != e.source:
            graph[e.source].add(e.target)
    # Tarjan's strongly connected components
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    detail = []
    for component in circles:
        members = set(component)
        detail += [str(e) for e in EDGES if e.source in members and e.target in members]
    assert not circles, "import circles:\n" + "\n".join(detail)
