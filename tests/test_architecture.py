"""The layering rules hold: the core runs without IPython, the renderer without HTTP, one owner per dependency."""

from __future__ import annotations

import ast
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "claude_magic"
CORE = [
    "claude_magic",
    "claude_magic.errors",
    "claude_magic.results",
    "claude_magic._step_values",
    "claude_magic._local_files",
    "claude_magic._disk_search",
    "claude_magic._picker_model",
    "claude_magic._registry",
    "claude_magic._downloads",
    "claude_magic._turns",
    "claude_magic._export",
    "claude_magic._render",
    "claude_magic._pricing",
    "claude_magic._client",
    "claude_magic._session",
    "claude_magic.testing",
]
# The IPython adapter: ClaudeMagics, its families of magics, and what they share.
MAGICS_MODULES = ("_magics.py", "_magics_args.py", "_magics_files.py", "_magics_session.py")


@pytest.mark.parametrize("module", CORE)
def test_core_imports_with_the_hosts_blocked(module: str) -> None:
    blocked = ("IPython", "ipywidgets", "ipykernel", "traitlets")
    code = "import sys\n" + "".join(f"sys.modules[{name!r}] = None\n" for name in blocked) + f"import {module}\n"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_renderer_knows_nothing_of_http() -> None:
    code = (
        "import sys\n"
        "for name in ('anthropic', 'httpx', 'httpx2', 'claude_magic._client', 'claude_magic._session'):\n"
        "    sys.modules[name] = None\n"
        "import claude_magic._render, claude_magic.results, claude_magic._export\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _package_modules() -> list[Path]:
    """Every module of the package, subpackages included, but not the stand-in (``testing/`` may import the SDK)."""
    return [path for path in PACKAGE.rglob("*.py") if path.relative_to(PACKAGE).parts[0] != "testing"]


@pytest.mark.parametrize(
    ("dependency", "owners"),
    [
        ("anthropic", {"_client/*.py"}),  # only modules of the ``_client`` package
        ("IPython", {*MAGICS_MODULES, "__init__.py"}),
        ("ipywidgets", {"widgets.py"}),
        ("traitlets", set(MAGICS_MODULES)),
    ],
)
def test_one_owner_per_dependency(dependency: str, owners: set[str]) -> None:
    importers = [path for path in _package_modules() if dependency in _imported_modules(path)]
    strays = [path for path in importers if not any(fnmatch(path.relative_to(PACKAGE).as_posix(), o) for o in owners)]
    assert not strays, strays


def test_the_client_package_owns_anthropic() -> None:
    importers = {path.name for path in _package_modules() if "anthropic" in _imported_modules(path)}
    assert {"_api.py", "_errors.py", "_warm.py"} <= importers
