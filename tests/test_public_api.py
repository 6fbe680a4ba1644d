"""The public surface is what ``claude_magic.__all__`` says, as httpx and the anthropic SDK check theirs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import claude_magic

PACKAGE = Path(claude_magic.__file__).parent
PUBLIC_MODULES = {"__init__.py", "_version.py", "errors.py", "results.py", "widgets.py", "py.typed"}


def test_everything_in_all_is_exported_and_nothing_else_is_advertised() -> None:
    for name in claude_magic.__all__:
        assert getattr(claude_magic, name) is not None, name
    assert sorted(claude_magic.__all__) == sorted(set(claude_magic.__all__))
    assert dir(claude_magic) == sorted(claude_magic.__all__)


def test_exported_classes_say_they_live_where_users_import_them_from() -> None:
    from claude_magic import errors, results

    for name in claude_magic.__all__:
        value = getattr(claude_magic, name)
        if isinstance(value, type) and value.__module__.startswith("claude_magic"):
            module = sys.modules[value.__module__]
            assert getattr(module, name) is value
    assert set(errors.__dict__) >= {"ClaudeMagicError", "ApiError"} and results.Turn is claude_magic.Turn


def test_every_other_module_is_private() -> None:
    modules = {path.name for path in PACKAGE.iterdir() if path.is_file()}
    assert {name for name in modules if not name.startswith("_")} <= PUBLIC_MODULES
    assert {path.name for path in PACKAGE.iterdir() if path.is_dir() and not path.name.startswith("_")} <= {
        "testing",
        "__pycache__",
    }


def test_import_stays_light() -> None:
    code = (
        "import sys, claude_magic\n"
        "heavy = [m for m in ('anthropic', 'IPython', 'pandas', 'ipywidgets', 'pygments') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
