"""The code execution text editor (``view``, ``create``, ``str_replace``), confined to a container.

Paths are relative to the container directory. Absolute paths are mapped into it
(``/tmp/x.py`` → ``<container>/tmp/x.py``); a path that resolves outside it, through ``..`` or a
symlink, is refused with ``invalid_tool_input``. Host paths are never touched.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp"}


class EditorError(Exception):
    """A failed command; ``error_code`` is one of the SDK's literals."""

    def __init__(self, error_code: str, message: str) -> None:
        self.error_code = error_code
        self.message = message
        super().__init__(message)


def resolve(container: Path, path: str) -> Path:
    """Map *path* into *container*; raises ``EditorError`` when it would leave it."""
    if not path:
        raise EditorError("invalid_tool_input", "path is required")
    root = container.resolve()
    posix = PurePosixPath(path)
    if posix.is_absolute():
        inside = Path(path).is_relative_to(root)
        relative = Path(path).relative_to(root) if inside else Path(*posix.parts[1:])
    else:
        relative = Path(path)
    target = (root / relative).resolve()
    if target != root and not target.is_relative_to(root):
        raise EditorError("invalid_tool_input", f"Path {path} is outside the container's file system")
    return target


def relative_path(container: Path, path: str) -> str:
    """*path* as the container-relative path code should use for the same file."""
    return str(resolve(container, path).relative_to(container.resolve()))


def apply(container: Path, command: Mapping[str, Any]) -> dict[str, Any]:
    """Run one editor command; returns the result block's ``content`` (a result or an error)."""
    try:
        name = command.get("command")
        target = resolve(container, str(command.get("path") or ""))
        if name == "view":
            return _view(target, command)
        if name == "create":
            return _create(target, command)
        if name == "str_replace":
            return _str_replace(target, command)
        raise EditorError("invalid_tool_input", f"Unknown command {name!r}: use view, create or str_replace")
    except EditorError as err:
        return {
            "type": "text_editor_code_execution_tool_result_error",
            "error_code": err.error_code,
            "error_message": err.message,
        }


def _view(target: Path, command: Mapping[str, Any]) -> dict[str, Any]:
    if target.is_dir():
        listing = "".join(f"{p.name}/\n" if p.is_dir() else f"{p.name}\n" for p in sorted(target.iterdir()))
        return _view_result("text", listing, listing.count("\n"), 1, listing.count("\n"))
    if not target.is_file():
        raise EditorError("file_not_found", f"File not found: {command.get('path')}")
    suffix = target.suffix.lower()
    if suffix in _IMAGE_SUFFIXES or suffix == ".pdf":
        kind = "pdf" if suffix == ".pdf" else "image"
        return _view_result(kind, base64.b64encode(target.read_bytes()).decode("ascii"), None, None, None)
    lines = _read(target).splitlines(keepends=True)
    start, stop = 1, len(lines)
    view_range = command.get("view_range")
    if view_range:
        try:
            start, stop = int(view_range[0]), int(view_range[1])
        except (TypeError, ValueError, IndexError):
            raise EditorError("invalid_tool_input", "view_range must be [start_line, end_line]") from None
        stop = len(lines) if stop == -1 else min(stop, len(lines))
        if start < 1 or start > max(stop, 1):
            raise EditorError("invalid_tool_input", f"Invalid view_range {view_range!r}")
    shown = lines[start - 1 : stop]
    return _view_result("text", "".join(shown), len(shown), start, len(lines))


def _view_result(kind: str, content: str, num: int | None, start: int | None, total: int | None) -> dict[str, Any]:
    return {
        "type": "text_editor_code_execution_view_result",
        "file_type": kind,
        "content": content,
        "num_lines": num,
        "start_line": start,
        "total_lines": total,
    }


def _create(target: Path, command: Mapping[str, Any]) -> dict[str, Any]:
    text = command.get("file_text")
    if not isinstance(text, str):
        raise EditorError("invalid_tool_input", "file_text is required for create")
    if target.is_dir():
        raise EditorError("invalid_tool_input", f"{command.get('path')} is a directory")
    existed = target.exists()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(text.encode("utf-8"))
    return {"type": "text_editor_code_execution_create_result", "is_file_update": existed}


def _str_replace(target: Path, command: Mapping[str, Any]) -> dict[str, Any]:
    old, new = command.get("old_str"), command.get("new_str") or ""
    if not isinstance(old, str) or not old or not isinstance(new, str):
        raise EditorError("invalid_tool_input", "old_str (non-empty) and new_str are required for str_replace")
    if not target.is_file():
        raise EditorError("file_not_found", f"File not found: {command.get('path')}")
    text = _read(target)
    count = text.count(old)
    if count != 1:
        where = "did not appear verbatim" if count == 0 else f"appears {count} times"
        message = f"No replacement was performed: old_str {where} in {command.get('path')}"
        raise EditorError("invalid_tool_input", message)
    start = text[: text.index(old)].count("\n") + 1
    target.write_bytes(text.replace(old, new, 1).encode("utf-8"))
    old_lines, new_lines = old.split("\n"), new.split("\n")
    return {
        "type": "text_editor_code_execution_str_replace_result",
        "old_start": start,
        "old_lines": len(old_lines),
        "new_start": start,
        "new_lines": len(new_lines),
        "lines": [f"-{line}" for line in old_lines] + [f"+{line}" for line in new_lines],
    }


def _read(target: Path) -> str:
    """The file's text with its line endings as they are."""
    return target.read_bytes().decode("utf-8", errors="replace")


def as_python(command: Mapping[str, Any], path: str) -> str:
    """Python doing what the editor *command* does, for tool versions without the editor."""
    name = command.get("command")
    head = f"from pathlib import Path\n\npath = Path({path!r})\n"
    if name == "create":
        text = command.get("file_text") or ""
        return head + (
            f"path.parent.mkdir(parents=True, exist_ok=True)\npath.write_text({text!r})\nprint('Created', path)\n"
        )
    if name == "str_replace":
        old, new = command.get("old_str") or "", command.get("new_str") or ""
        return head + (
            f"text = path.read_text()\nold, new = {old!r}, {new!r}\n"
            "if text.count(old) != 1:\n"
            "    raise SystemExit(f'old_str must occur exactly once in {path}')\n"
            "path.write_text(text.replace(old, new, 1))\nprint('Edited', path)\n"
        )
    return head + "print(path.read_text(), end='')\n"
