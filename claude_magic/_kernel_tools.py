"""Plain Python functions from the kernel as Claude's client tools.

``describe`` turns a function into a tool: the JSON schema comes from its signature and type
hints (``pydantic.create_model``, installed with the SDK) and the descriptions from its docstring
(``docstring_parser`` when installed, else a small numpy/Google reader). ``ToolExecutor`` answers
the ``tool_use`` blocks of one response with ``tool_result`` blocks: it runs each function in the
calling thread (the kernel's, so objects tied to it, such as a sqlite connection, still work),
within a per-call timeout, a limit on calls per turn and a cap on the result's size.

Calls from code in the sandbox (programmatic tool calling, api-spec §9.3) come as ``tool_use``
blocks whose ``caller`` is the code execution tool; their results must be plain text, and they
must all go back before the sandbox gives up waiting (about 4 minutes, 270 s in the docs'
example), so those calls share a deadline below that.
"""

from __future__ import annotations

import inspect
import json
import re
import signal
import threading
import time
import typing
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

from claude_magic.errors import ClaudeMagicError
from claude_magic.results import ToolCallStep

_NAME: Final = re.compile(r"^[A-Za-z0-9_-]{1,128}$")  # the API's tool name pattern
PROGRAMMATIC_DEADLINE: Final = 240.0  # seconds; a pending programmatic call times out after ~270 s (doc-PTC)


class KernelToolError(ClaudeMagicError):
    """A function cannot be offered as a tool (not callable, bad name, a parameter without a JSON form)."""


@dataclass(frozen=True, slots=True)
class ToolLimits:
    """Bounds on kernel functions called in one turn."""

    timeout: float = 30.0  # seconds per call
    max_calls: int = 20  # per turn; later calls are refused with a message
    max_result_chars: int = 100_000  # a longer result is refused with a message
    programmatic_deadline: float = PROGRAMMATIC_DEADLINE  # all programmatic calls of one response


@dataclass(frozen=True, slots=True)
class KernelTool:
    """One kernel function offered to Claude."""

    name: str
    function: Callable[..., Any]
    description: str
    input_schema: dict[str, Any]
    validator: Any = field(repr=False)  # the pydantic model checking and converting the input

    def param(self, *, programmatic: bool) -> dict[str, Any]:
        """The ``tools`` entry; with *programmatic*, sandbox code may call it too (``allowed_callers``)."""
        from claude_magic._tool_versions import PROGRAMMATIC_CALLER

        entry: dict[str, Any] = {"name": self.name, "description": self.description, "input_schema": self.input_schema}
        if programmatic:
            entry["allowed_callers"] = ["direct", PROGRAMMATIC_CALLER]
        return entry


def describe(function: object, name: str | None = None) -> KernelTool:
    """A tool from *function*: schema from its signature and type hints, descriptions from its docstring."""
    if not callable(function):
        raise KernelToolError(f"{name or type(function).__name__} is not a function: only callables can be tools.")
    tool_name = str(name or getattr(function, "__name__", ""))
    if not _NAME.match(tool_name):
        raise KernelToolError(
            f"{tool_name!r} cannot be a tool name (letters, digits, _ and - only): define the function with def."
        )
    import pydantic

    summary, param_docs = _docstring(inspect.getdoc(function) or "")
    try:
        signature = inspect.signature(function)
        hints = typing.get_type_hints(function)
    except (TypeError, ValueError, NameError):
        signature, hints = inspect.Signature(), {}
    fields: dict[str, Any] = {}
    for parameter in signature.parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        annotation = hints.get(parameter.name, Any)
        default = ... if parameter.default is parameter.empty else parameter.default
        fields[parameter.name] = (annotation, pydantic.Field(default, description=param_docs.get(parameter.name)))
    try:
        model = pydantic.create_model(f"{tool_name}_input", __config__=pydantic.ConfigDict(extra="forbid"), **fields)
        schema = _untitled(model.model_json_schema())
    except (pydantic.PydanticSchemaGenerationError, pydantic.PydanticUserError, TypeError) as exc:
        raise KernelToolError(
            f"{tool_name}: a parameter's type has no JSON form ({str(exc).splitlines()[0]}); "
            "use str, int, float, bool, lists, dicts, dates or pydantic models."
        ) from None
    description = summary or f"The kernel function {tool_name}{signature}."
    return KernelTool(tool_name, function, description, schema, model)


def _untitled(schema: Any) -> Any:
    """*schema* without pydantic's generated ``title`` keys (noise for the model)."""
    if isinstance(schema, dict):
        return {
            key: _untitled(value) for key, value in schema.items() if not (key == "title" and isinstance(value, str))
        }
    if isinstance(schema, list):
        return [_untitled(item) for item in schema]
    return schema


_SECTION: Final = re.compile(r"^(Parameters|Args|Arguments|Returns|Raises|Examples|Notes|Yields|See Also)\s*:?\s*$")
_NUMPY_PARAM: Final = re.compile(r"^(\w+)\s*(?::.*)?$")
_GOOGLE_PARAM: Final = re.compile(r"^(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def _docstring(doc: str) -> tuple[str, dict[str, str]]:
    """(description, parameter descriptions) from a numpy- or Google-style docstring."""
    try:
        import docstring_parser
    except ImportError:
        return _read_docstring(doc)
    parsed = docstring_parser.parse(doc)
    text = "\n\n".join(part for part in (parsed.short_description, parsed.long_description) if part)
    return text, {p.arg_name: p.description for p in parsed.params if p.description}


def _read_docstring(doc: str) -> tuple[str, dict[str, str]]:
    lines = doc.splitlines()
    summary: list[str] = []
    params: dict[str, str] = {}
    section, current = None, None
    for index, line in enumerate(lines):
        stripped = line.strip()
        if set(stripped) == {"-"}:
            continue
        following = lines[index + 1].strip() if index + 1 < len(lines) else ""
        if _SECTION.match(stripped) and (stripped.endswith(":") or set(following) == {"-"}):
            section, current = _SECTION.match(stripped)[1], None  # type: ignore[index]
            continue
        if section is None:
            summary.append(line)
        elif section in ("Parameters", "Args", "Arguments") and stripped:
            indent = len(line) - len(line.lstrip())
            google = _GOOGLE_PARAM.match(stripped) if section != "Parameters" else None
            numpy = _NUMPY_PARAM.match(stripped) if section == "Parameters" and indent == 0 else None
            if google:
                current = google[1]
                params[current] = google[2]
            elif numpy:
                current = numpy[1]
                params[current] = ""
            elif current is not None:
                params[current] = f"{params[current]} {stripped}".strip()
    return "\n".join(summary).strip(), {key: value for key, value in params.items() if value}


class ToolExecutor:
    """Answers the kernel-function calls of one turn.

    Parameters
    ----------
    tools
        The functions Claude may call.
    limits
        Timeout, calls per turn, result size.
    programmatic
        Whether the tools are offered to sandbox code too (``allowed_callers``).
    """

    def __init__(self, tools: Sequence[KernelTool], limits: ToolLimits, *, programmatic: bool) -> None:
        self._tools = {tool.name: tool for tool in tools}
        self.limits = limits
        self.programmatic = programmatic
        self.calls = 0

    @property
    def max_rounds(self) -> int:
        """Responses with calls answered in one turn: enough for every allowed call, plus one to refuse."""
        return self.limits.max_calls + 1

    @property
    def params(self) -> tuple[dict[str, Any], ...]:
        """The ``tools`` entries to send."""
        return tuple(tool.param(programmatic=self.programmatic) for tool in self._tools.values())

    def answer(
        self, content: Sequence[dict[str, Any]], on_call: Callable[[ToolCallStep], None]
    ) -> list[dict[str, Any]]:
        """The ``tool_result`` blocks for every client ``tool_use`` in *content*, in order.

        ``on_call`` hears each finished call, as a ``ToolCallStep``.
        """
        started = time.monotonic()
        results: list[dict[str, Any]] = []
        for block in content:
            if block.get("type") != "tool_use":
                continue
            programmatic = ((block.get("caller") or {}).get("type") or "direct") != "direct"
            timeout = self.limits.timeout
            if programmatic:
                timeout = min(timeout, self.limits.programmatic_deadline - (time.monotonic() - started))
            step = self._call(block, timeout, programmatic)
            on_call(step)
            result: dict[str, Any] = {"type": "tool_result", "tool_use_id": step.tool_use_id}
            # Programmatic results must be a string or text blocks (doc-PTC); a string serves both.
            result["content"] = step.result if step.error is None else f"Error: {step.error}"
            if step.error is not None:
                result["is_error"] = True
            results.append(result)
        return results

    def _call(self, block: dict[str, Any], timeout: float, programmatic: bool) -> ToolCallStep:
        name = str(block.get("name", ""))
        step = ToolCallStep(
            str(block.get("id", "")), name, dict(block.get("input") or {}), "code" if programmatic else "direct"
        )
        tool = self._tools.get(name)
        self.calls += 1
        if tool is None:
            return _failed(step, f"there is no tool named {name!r} (tools: {', '.join(self._tools) or 'none'})")
        if self.calls > self.limits.max_calls:
            return _failed(step, f"refused: the limit of {self.limits.max_calls} tool calls per turn was reached")
        if timeout <= 0:
            return _failed(step, "refused: no time left before the sandbox stops waiting for tool results")
        try:
            arguments = tool.validator.model_validate(step.input)
        except Exception as exc:  # pydantic.ValidationError: the input does not fit the schema
            return _failed(step, f"invalid input: {_first_line(exc)}")
        began = time.monotonic()
        try:
            values = {key: getattr(arguments, key) for key in type(arguments).model_fields}
            value = _run_bounded(lambda: _invoke(tool.function, values), timeout)
        except _TimedOut:
            return _failed(step, f"timed out after {timeout:g} s", time.monotonic() - began)
        except Exception as exc:
            return _failed(step, f"{type(exc).__name__}: {_first_line(exc)}", time.monotonic() - began)
        duration = time.monotonic() - began
        text = _as_text(value)
        if len(text) > self.limits.max_result_chars:
            return _failed(
                step,
                f"refused: the result has {len(text):,} characters, over the limit of "
                f"{self.limits.max_result_chars:,}; ask for less (filter or aggregate first)",
                duration,
            )
        return ToolCallStep(step.tool_use_id, name, step.input, step.caller, result=text, duration=duration)


def _failed(step: ToolCallStep, message: str, duration: float | None = None) -> ToolCallStep:
    return ToolCallStep(step.tool_use_id, step.name, step.input, step.caller, error=message, duration=duration)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


def _invoke(function: Callable[..., Any], arguments: dict[str, Any]) -> Any:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return function(**arguments)
    positional = [arguments.pop(p.name) for p in parameters if p.kind is p.POSITIONAL_ONLY and p.name in arguments]
    return function(*positional, **arguments)


def _as_text(value: Any) -> str:
    """What a function returned, as the text Claude (or the sandbox code) receives: JSON where it fits."""
    if isinstance(value, str):
        return value
    to_json = getattr(value, "to_json", None)
    if callable(to_json) and hasattr(value, "columns"):  # a DataFrame: records, as the sandbox reads them back
        return str(to_json(orient="records", date_format="iso"))
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


class _TimedOut(BaseException):
    """Raised inside a kernel function that ran past its time (a BaseException, so it is not swallowed)."""


def _run_bounded(call: Callable[[], Any], seconds: float) -> Any:
    """``call()`` in this thread, interrupted after *seconds*; off the main thread, in a helper thread.

    In the main thread (a kernel's cells run there) ``SIGALRM`` interrupts the function where it
    is; elsewhere signals cannot be used, so the call runs in a daemon thread and is abandoned
    (still running) when its time is up.
    """
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        with _time_limit(seconds):
            return call()
    outcome: list[Any] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:
            failure.append(exc)

    worker = threading.Thread(target=target, name="claude-magic-kernel-tool", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise _TimedOut
    if failure:
        raise failure[0]
    return outcome[0]


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after *seconds* with ``SIGALRM`` (main thread, POSIX only).

    An outer timer (e.g. pytest-timeout's) is kept: it is restored with the time that was left.
    """

    def expire(signum: int, frame: Any) -> None:
        raise _TimedOut

    previous = signal.signal(signal.SIGALRM, expire)
    outer, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    began = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - began), 0.001))


@dataclass(frozen=True, slots=True)
class TurnTools:
    """The tools one turn sends beside code execution, and who answers the client ones."""

    params: tuple[dict[str, Any], ...] = ()
    executor: ToolExecutor | None = None
    server_tools: tuple[str, ...] = ()  # the server tool types among ``params``


def turn_tools(
    model: str,
    code_version: str,
    *,
    web: bool,
    web_max_uses: int | None,
    functions: Sequence[object] = (),
    limits: ToolLimits | None = None,
) -> TurnTools:
    """Web tools (versions per model, see ``_tool_versions``) and kernel functions for one turn.

    Kernel functions are offered to sandbox code too where the code execution version supports
    programmatic calls. Raises ``KernelToolError`` for a function that cannot be a tool.
    """
    from claude_magic._tool_versions import supports_programmatic_calls, web_tools

    server = web_tools(model, code_version, web_max_uses) if web else ()
    described = [describe(function) for function in functions]
    names = [tool.name for tool in described]
    if len(set(names)) != len(names):
        raise KernelToolError(f"Two tools have the same name: {', '.join(sorted(names))}.")
    executor = None
    if described:
        programmatic = supports_programmatic_calls(model, code_version)
        executor = ToolExecutor(described, limits or ToolLimits(), programmatic=programmatic)
    params = (*server, *(executor.params if executor else ()))
    return TurnTools(params, executor, tuple(str(tool["type"]) for tool in server))
