"""The Files API area of ``ApiClient``: upload, metadata, download, delete, list.

Imports ``anthropic`` lazily, inside the methods that need it.
"""

from __future__ import annotations

from typing import IO, Any

from claude_magic._client._base import SdkHolder
from claude_magic._client._convert import _remote_file
from claude_magic._client._errors import _translated_errors
from claude_magic.results import RemoteFile


class FilesApi(SdkHolder):
    """Files API methods of ``ApiClient``."""

    def upload(
        self, name: str, content: bytes | IO[bytes], media_type: str, *, expires_in_seconds: int | None = None
    ) -> RemoteFile:
        """Upload one file; returns its metadata. ``expires_in_seconds``: the server deletes it after that."""
        import anthropic

        expiry: Any = expires_in_seconds if expires_in_seconds is not None else anthropic.omit
        with _translated_errors(timeout=self.timeout, uploading=name):
            meta = self._sdk.files.upload(file=(name, content, media_type), expires_in_seconds=expiry)
        return _remote_file(meta)

    def metadata(self, file_id: str) -> RemoteFile | None:
        """The file's metadata, or None if the server no longer knows it or its content expired."""
        import anthropic

        try:
            with _translated_errors((anthropic.NotFoundError,), timeout=self.timeout):
                meta = self._sdk.files.retrieve_metadata(file_id)
        except anthropic.NotFoundError:
            return None
        remote = _remote_file(meta)
        return None if remote.expired else remote

    def download(self, file_id: str) -> bytes:
        """The bytes of a file the sandbox produced."""
        with _translated_errors(timeout=self.timeout):
            return self._sdk.files.download(file_id).read()

    def delete(self, file_id: str) -> bool:
        """Delete a file; False if it was already gone."""
        import anthropic

        try:
            with _translated_errors((anthropic.NotFoundError,), timeout=self.timeout):
                self._sdk.files.delete(file_id)
        except anthropic.NotFoundError:
            return False
        return True

    def list_files(self, limit: int = 1000) -> list[RemoteFile]:
        """Every file the key's workspace holds, newest first (auto-paginated)."""
        with _translated_errors(timeout=self.timeout):
            return [_remote_file(meta) for meta in self._sdk.files.list(limit=min(limit, 1000))]
