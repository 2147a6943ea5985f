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


def test_py_typed_marker_ships() -> None:
    assert (ROOT / "src" / "metallm" / "py.typed").exists()
