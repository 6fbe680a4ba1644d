"""A small ``multipart/form-data`` parser for ``POST /v1/files``."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message

from claude_magic.testing.envelope import bad_request


@dataclass(frozen=True)
class Part:
    """One form field: its name, the file name if any, its own Content-Type and its bytes."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes = field(repr=False)


def _header_params(value: str, header: str = "content-type") -> Message:
    message = Message()
    message[header] = value
    return message


def parse(content_type: str, body: bytes) -> list[Part]:
    """Split *body* into parts; a malformed body is a 400 ``invalid_request_error``."""
    header = _header_params(content_type)
    boundary = header.get_param("boundary")
    if header.get_content_type() != "multipart/form-data" or not isinstance(boundary, str) or not boundary:
        raise bad_request("Content-Type must be multipart/form-data with a boundary")
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    chunks = (b"\r\n" + body).split(delimiter)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise bad_request("Malformed multipart/form-data body")
    parts = []
    for chunk in chunks[1:-1]:
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise bad_request("Malformed multipart/form-data part")
        parts.append(_part(head.decode("utf-8", "replace"), data))
    return parts


def _part(head: str, data: bytes) -> Part:
    headers: dict[str, str] = {}
    for line in head.strip("\r\n").split("\r\n"):
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    disposition = _header_params(headers.get("content-disposition", ""), "content-disposition")
    name = disposition.get_param("name", header="content-disposition")
    filename = disposition.get_filename()
    if not isinstance(name, str):
        raise bad_request("Multipart part without a name")
    return Part(name=name, filename=filename, content_type=headers.get("content-type"), data=data)
