"""What the magics share: argument parsing, the line-prompt input transformer, live display, error translation.

Part of the IPython adapter, so it may import IPython; the core modules may not import it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics
from IPython.core.magic_arguments import parse_argstring
from IPython.display import display

from claude_magic import _magic_input as checks
from claude_magic import _render as render
from claude_magic._client import warm_up
from claude_magic._live import Update
from claude_magic.errors import ClaudeMagicError
from claude_magic.results import CodeStep, EditStep, Execution, TextStep, Turn

if TYPE_CHECKING:
    from claude_magic._magics import ClaudeMagics
    from claude_magic._session import Session

_TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")
_LINE_PROMPT = re.compile(r"^(\s*)%claude_exec(?:[ \t]+(.*?))?[ \t]*$")


class MagicsFamily(Magics):
    """One family of ``%claude_*`` magics, using the settings and session of the one ``ClaudeMagics``.

    Subclasses are ``@magics_class`` classes that ``ClaudeMagics.attach`` registers and
    ``ClaudeMagics.detach`` removes; they hold no state and no settings of their own.
    """

    def __init__(self, owner: ClaudeMagics) -> None:
        super().__init__(shell=owner.shell)  # Magics.__init__ adds us to shell.configurables
        self._owner = owner

    @property
    def session(self) -> Session:
        """The kernel's session (``ClaudeMagics.session``)."""
        return self._owner.session

    @property
    def turns(self) -> tuple[Turn, ...]:
        """The turns of this conversation (``ClaudeMagics.turns``)."""
        return self._owner.turns

    @property
    def _shell(self) -> Any:
        assert self.shell is not None  # set by Magics.__init__
        return self.shell

    @property
    def _user_ns(self) -> dict[str, Any]:
        namespace: dict[str, Any] = self._shell.user_ns
        return namespace

    def _user_errors(self) -> contextlib.AbstractContextManager[None]:
        return user_errors(self._owner.short_errors)


@contextmanager
def user_errors(short_errors: bool) -> Iterator[None]:
    """Turn expected failures into a one-line ``UsageError`` (all of them, or input mistakes only)."""
    try:
        yield
    except checks.InputError as exc:
        raise UsageError(str(exc)) from None
    except ClaudeMagicError as exc:
        if not short_errors:
            raise
        # UsageError itself, not a subclass: IPython matches `etype is UsageError`
        # and shows subclasses with a full traceback (ipython/ipython#14024).
        raise UsageError(str(exc)) from exc


def show_in_place(bundle: dict[str, str]) -> Update:
    """Display ``bundle`` and return what replaces it in place (the live view's ``Show``)."""
    handle = display(bundle, raw=True, display_id=True)

    def update(new: dict[str, str], metadata: Mapping[str, Any] | None = None, /) -> None:
        handle.update(new, raw=True, metadata=dict(metadata) if metadata else None)

    return update


def line_prompt_call(lines: list[str]) -> list[str]:
    """Run ``%claude_exec …?`` lines as the magic, before IPython reads ``word?`` as a help request.

    An input transformer (IPython's cleanup stage): it rewrites the line into the call IPython
    itself would make, so ``%claude_exec What is the median of revenue?`` asks Claude instead
    of showing help for ``revenue``. Other lines are left to IPython.
    """
    if lines and lines[0].lstrip().startswith("%%"):
        return lines  # a cell magic's body is its own text
    rewritten = []
    for line in lines:
        body = line.rstrip("\n")
        match = _LINE_PROMPT.match(body)
        if match is None or not body.endswith("?"):
            rewritten.append(line)
            continue
        indent, rest = match.group(1), match.group(2) or ""
        newline = line[len(body) :]
        rewritten.append(f"{indent}get_ipython().run_line_magic('claude_exec', {rest!r}){newline}")
    return rewritten


def takes_value(magic: Any) -> dict[str, bool]:
    """A magic's option strings, each with whether it takes a value (from its argparse parser)."""
    actions = magic.parser._option_string_actions
    # An optional value (``--think``) is taken only as ``--think=4096`` on a line: the prompt follows.
    return {option: action.nargs not in (0, "?") for option, action in actions.items()}


def parse_args(magic: Any, line: str) -> Any:
    """``parse_argstring``, with one pair of matching quotes taken off each value.

    IPython splits magic lines without POSIX rules (so Windows paths keep their backslashes), which
    leaves the quotes in ``%claude_upload "my data.csv"``: the quoted path would then match no file.
    """
    args = parse_argstring(magic, line)
    for key, value in vars(args).items():
        if isinstance(value, str):
            setattr(args, key, unquote(value))
        elif isinstance(value, list):
            setattr(args, key, [unquote(item) if isinstance(item, str) else item for item in value])
    return args


def unquote(value: str) -> str:
    """Take one pair of matching quotes off *value*."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def interpolate(prompt: str, namespace: Mapping[str, Any]) -> str:
    """Put the value of each ``{{name}}`` (or ``{{name.attr}}``) from *namespace* into *prompt*."""

    def value_of(match: re.Match[str]) -> str:
        head, *rest = match.group(1).split(".")
        if head not in namespace:
            raise UsageError(f"{{{{{head}}}}} in the prompt names no variable: define {head} or remove the braces.")
        value = namespace[head]
        for attribute in rest:
            try:
                value = getattr(value, attribute)
            except AttributeError:
                raise UsageError(f"{{{{{match.group(1)}}}}}: {head} has no attribute {attribute!r}.") from None
        return str(value)

    return _TEMPLATE.sub(value_of, prompt)


def warm_imports() -> None:
    """Do in the background what the first ``%%claude_exec`` would otherwise wait for.

    Imports the SDK and its streaming and result types, and renders one step of each kind, so
    the renderer's first use (pygments finding a lexer for a file name imports every lexer
    module: about 0.25 s) is paid before the user's first cell.
    """
    warm_up()
    with contextlib.suppress(Exception):  # warming is best effort: the first cell does the same work
        import claude_magic._session  # noqa: F401  (deferred by the magics so %load_ext stays quick)

        sample = Execution(stdout="ok\n", return_code=0)
        for step in (
            TextStep("Warming **up**."),
            CodeStep("srvtoolu_warm", "python", "print('ok')", sample),
            CodeStep("srvtoolu_warm", "bash", "echo ok", sample),
            EditStep("srvtoolu_warm", "create", "/tmp/warm.py", file_text="print('ok')\n"),
        ):
            render.step_bundle(step)
