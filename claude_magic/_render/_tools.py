"""A call of one of the kernel's functions as a mimebundle: name, arguments, result or error.

The arguments came from the model and the result from the user's own function; both are shown
escaped, the result folded like any long output.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from claude_magic._render._html import BOX, ERROR_BG, MUTED, STDOUT, div, join
from claude_magic._render._text import clean

if TYPE_CHECKING:
    from claude_magic._render import MimeBundle
    from claude_magic.results import ToolCallStep


def tool_call_bundle(step: ToolCallStep, *, max_lines: int = 200, interrupted: bool = False) -> MimeBundle:
    """A kernel function call: ``name(arguments)``, who called it, then its result or short error."""
    from claude_magic._render._steps import stream_parts  # the shared stream box

    arguments = ", ".join(f"{clean(key)}={json.dumps(value, default=str)}" for key, value in step.input.items())
    who = "called by code in the sandbox" if step.caller == "code" else "called by Claude"
    took = f", {step.duration:.2f} s" if step.duration is not None else ""
    header = f"ƒ {clean(step.name)}({clean(arguments)}) · {who}{took}"
    markup = [div("header", header, MUTED)]
    plain = [f"[Kernel function] {clean(step.name)}({clean(arguments)}) · {who}{took}"]
    if step.error is not None:
        markup.append(div("tool-error", "⚠ " + clean(step.error), f"{BOX}; {ERROR_BG}"))
        plain.append(f"[error: {clean(step.error)}]")
    elif step.result is not None:
        html_part, plain_part = stream_parts("result", "returned", step.result, max_lines, STDOUT)
        markup.append(html_part)
        plain.append(plain_part)
    else:
        label = "■ interrupted before it finished" if interrupted else "running…"
        markup.append(div("running", label, MUTED))
        plain.append(f"[{label}]")
    return {"text/html": str(div("step", join(markup))), "text/plain": "\n".join(plain)}
