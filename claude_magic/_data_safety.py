"""Control over what leaves the machine: choose columns, drop some, sample rows, pseudonymize keys, preview.

pandas is used through the frame's own methods (as ``_local_files`` does), so this module imports
no pandas itself. Pseudonyms are salted HMAC-SHA256 tokens: the salt and the token → value map
stay in the kernel (``Pseudonyms``), so results computed in the sandbox can be joined back,
while the API sees only tokens. The same value gets the same token within a session, in every
upload, so uploaded tables still join on the pseudonymized key.

What the API keeps (api-spec §8 "Data retention"): files uploaded to the Files API stay until
deleted and the Files API is not eligible for zero data retention; a container's data (uploads,
outputs) is kept up to 30 days.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from claude_magic._format import human_size
from claude_magic.errors import ClaudeMagicError


@dataclass(frozen=True, slots=True)
class SafetyOptions:
    """What to keep of a DataFrame before it is uploaded."""

    columns: tuple[str, ...] = ()  # keep only these (in this order)
    drop: tuple[str, ...] = ()  # remove these
    sample: int | None = None  # keep this many rows, chosen at random with ``seed``
    seed: int = 0
    pseudonymize: tuple[str, ...] = ()  # replace these columns' values with salted hashes

    @property
    def active(self) -> bool:
        """Whether any option changes the frame."""
        return bool(self.columns or self.drop or self.sample is not None or self.pseudonymize)


class Pseudonyms:
    """Salted tokens for sensitive values, with the way back; kept in the kernel, never uploaded.

    Examples
    --------
    >>> pseudonyms = Pseudonyms(salt=b"fixed")
    >>> token = pseudonyms.token("user_id", 42)
    >>> pseudonyms.reveal("user_id", [token])
    [42]
    """

    def __init__(self, salt: bytes | None = None) -> None:
        self._salt = salt if salt is not None else secrets.token_bytes(16)
        self._originals: dict[str, dict[str, Any]] = {}  # column -> token -> original value

    def token(self, column: str, value: Any) -> str:
        """The token that stands for *value* of *column* (the same value always gets the same token)."""
        digest = hmac.new(self._salt, f"{column}\x00{value!r}".encode(), hashlib.sha256).hexdigest()
        token = f"{column}_{digest[:16]}"
        self._originals.setdefault(column, {})[token] = value
        return token

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns that have tokens."""
        return tuple(self._originals)

    def mapping(self, column: str) -> dict[str, Any]:
        """Token → original value for *column* (a copy)."""
        return dict(self._originals.get(column, {}))

    def reveal(self, column: str, tokens: Iterable[Any]) -> list[Any]:
        """The original values for *tokens* (unknown tokens are kept as they are)."""
        known = self._originals.get(column, {})
        return [known.get(token, token) for token in tokens]

    def table(self, column: str) -> Any:
        """The mapping of *column* as a DataFrame (``token``, *column*), to ``merge`` results back."""
        import pandas as pd

        items = list(self.mapping(column).items())
        return pd.DataFrame(items, columns=["token", column])


def _missing(frame: Any, names: Collection[str], option: str) -> None:
    unknown = [name for name in names if name not in frame.columns]
    if unknown:
        known = ", ".join(str(column) for column in list(frame.columns)[:12])
        raise ClaudeMagicError(f"{option}: no column {', '.join(map(repr, unknown))} (columns: {known}).")


def apply(frame: Any, options: SafetyOptions, pseudonyms: Pseudonyms) -> Any:
    """A copy of *frame* reduced as *options* say; raises a one-line ``ClaudeMagicError`` for bad options."""
    if not options.active:
        return frame
    _missing(frame, options.columns, "--columns")
    _missing(frame, options.drop, "--drop")
    _missing(frame, options.pseudonymize, "--pseudonymize")
    if options.columns and options.drop and set(options.columns) & set(options.drop):
        raise ClaudeMagicError("--columns and --drop name the same column: keep it or drop it, not both.")
    result = frame[list(options.columns)] if options.columns else frame
    if options.drop:
        result = result.drop(columns=list(options.drop))
    if options.sample is not None:
        if options.sample < 1:
            raise ClaudeMagicError(f"--sample needs a number of rows of at least 1, not {options.sample}.")
        if options.sample > len(result):
            raise ClaudeMagicError(
                f"--sample {options.sample} is more than the frame's {len(result)} rows: "
                "sample fewer, or drop --sample."
            )
        ranged = type(result.index).__name__ == "RangeIndex"
        result = result.sample(n=options.sample, random_state=options.seed)
        if ranged:  # row positions say nothing worth keeping, and would tell which rows were chosen
            result = result.reset_index(drop=True)
    result = result.copy()
    for column in options.pseudonymize:
        if column in result.columns:
            result[column] = [pseudonyms.token(column, value) for value in result[column]]
    return result


@dataclass(frozen=True, slots=True)
class Preview:
    """One file as it would be sent."""

    name: str
    size: int
    media_type: str
    sha256: str
    schema: tuple[tuple[str, str], ...] = ()  # (column, dtype) of a DataFrame
    rows: int | None = None
    head: str = ""  # the first rows, as text


@dataclass(frozen=True, slots=True)
class DryRun:
    """What an upload would send, shown instead of sending it."""

    files: tuple[Preview, ...]
    reason: str = "--dry-run: nothing was sent."

    @property
    def total_size(self) -> int:
        """Bytes that would be sent."""
        return sum(file.size for file in self.files)

    def _repr_mimebundle_(
        self, include: Collection[str] | None = None, exclude: Collection[str] | None = None
    ) -> dict[str, str]:
        from claude_magic._render import select
        from claude_magic._render._html import MUTED, Markup, div, join, pre

        plain = [self.reason]
        markup = [div("notice", self.reason, MUTED)]
        for file in self.files:
            line = f"{file.name} · {human_size(file.size)} · {file.media_type} · sha256 {file.sha256[:12]}"
            if file.rows is not None:
                line += f" · {file.rows} rows"
            schema = ", ".join(f"{column}: {dtype}" for column, dtype in file.schema)
            plain += [line, *([f"  schema: {schema}"] if schema else []), *([file.head] if file.head else [])]
            parts = [div("header", line), *([div("schema", f"schema: {schema}", MUTED)] if schema else [])]
            if file.head:
                parts.append(pre("head", file.head))
            markup.append(div("dry-run-file", join(parts)))
        bundle = {"text/plain": "\n".join(plain), "text/html": str(div("dry-run", join(markup, Markup(""))))}
        return select(bundle, include, exclude)


def preview(local: Any, frame: Any = None, rows: int = 5) -> Preview:
    """The preview of a prepared ``LocalFile``; *frame* is the DataFrame it was made from, if any."""
    schema: tuple[tuple[str, str], ...] = ()
    head, count = "", None
    if frame is not None:
        schema = tuple((str(column), str(dtype)) for column, dtype in frame.dtypes.items())
        head, count = frame.head(rows).to_string(max_colwidth=40), len(frame)
    return Preview(local.name, local.size, local.media_type, local.sha256, schema, count, head)


def split_names(value: str | None) -> tuple[str, ...]:
    """``"a,b, c"`` → ``("a", "b", "c")``."""
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def dry_run(locals_and_frames: Sequence[tuple[Any, Any]], reason: str | None = None) -> DryRun:
    """The ``DryRun`` for prepared files, each with the frame it came from (or None)."""
    files = tuple(preview(local, frame) for local, frame in locals_and_frames)
    return DryRun(files, reason or "--dry-run: this is exactly what would be sent; nothing was sent.")
