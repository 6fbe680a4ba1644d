"""Saving files the sandbox produced: safe local names, never outside the folder, never overwriting.

Stdlib only. The names come from the server and are untrusted.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

_MAX_NAME_BYTES = 200  # well under the 255-byte limit of common filesystems, leaving room for " (12)"
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})  # control, format, surrogate, private, unassigned
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


def without_invisible(text: str) -> str:
    """*text* without control, format (bidi overrides, zero-width) and line-separator characters.

    A right-to-left override (U+202E) makes ``x\u202egnp.exe`` display as ``xexe.png``; such
    characters have no place in a file name.
    """
    return "".join(char for char in text if unicodedata.category(char) not in _INVISIBLE)


def safe_filename(name: str, fallback: str = "file") -> str:
    """A local file name made from an untrusted one: a bare, printable name that stays in its folder.

    Keeps only the last path component, drops control, format (bidi) and reserved characters,
    leading dots and spaces, and shortens long names while keeping the extension.
    """
    text = without_invisible(unicodedata.normalize("NFC", name or ""))
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = _UNSAFE.sub("_", text).strip().lstrip(".").strip()
    if not text or set(text) <= {"_", ".", " "}:
        text = fallback
    stem, dot, suffix = text.rpartition(".")
    if not dot or not stem:
        stem, suffix = text, ""
    suffix = suffix[:16]
    if stem.lower() in _RESERVED:
        stem = f"_{stem}"
    while len(f"{stem}.{suffix}".encode() if suffix else stem.encode()) > _MAX_NAME_BYTES:
        stem = stem[:-1]
    return f"{stem}.{suffix}" if suffix else stem


def write_new_file(folder: Path, name: str, data: bytes) -> Path:
    """Write *data* under a safe form of *name* in *folder*; an existing file gets a numbered sibling.

    Uses exclusive creation, so an existing file is never overwritten, even by a concurrent writer.
    """
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    safe = safe_filename(name)
    stem, dot, suffix = safe.rpartition(".")
    if not dot or not stem:
        stem, suffix = safe, ""
    for number in range(10_000):
        candidate = safe if number == 0 else (f"{stem} ({number}).{suffix}" if suffix else f"{stem} ({number})")
        path = root / candidate
        if path.resolve().parent != root:  # belt and braces: safe_filename already prevents this
            raise ValueError(f"refusing to write outside {root}: {name!r}")
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except FileExistsError:
            continue
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
        return path
    raise FileExistsError(f"too many files named like {safe!r} in {root}")
