"""SDK objects to our values: content blocks to plain dicts, messages, files, skills and batches to frozen values.

Reads SDK objects by attribute and never imports ``anthropic``, so nothing SDK-typed leaves the package.
"""

from __future__ import annotations

from typing import Any

from claude_magic._batch_types import BatchCounts, BatchItemResult, BatchStatus
from claude_magic._client._constants import CODE_EXECUTION_TOOLS
from claude_magic.results import ContainerInfo, ContainerSkill, RemoteFile, Response, SkillInfo, Usage


def _plain(block: Any) -> dict[str, Any]:
    data: dict[str, Any] = block.model_dump(mode="json", exclude_none=True)
    return data


def _batch_status(batch: Any) -> BatchStatus:
    counts = batch.request_counts
    return BatchStatus(
        id=batch.id,
        processing_status=batch.processing_status,
        counts=BatchCounts(counts.processing, counts.succeeded, counts.errored, counts.canceled, counts.expired),
        created_at=batch.created_at,
        ended_at=batch.ended_at,
        expires_at=batch.expires_at,
    )


def _batch_item(line: Any) -> BatchItemResult:
    result = line.result
    if result.type == "succeeded":
        return BatchItemResult(line.custom_id, "succeeded", response=_response(result.message, None))
    if result.type == "errored":
        envelope = result.error
        error = getattr(envelope, "error", None)
        return BatchItemResult(
            line.custom_id,
            "errored",
            error_type=getattr(error, "type", None),
            error_message=getattr(error, "message", None),
            request_id=getattr(envelope, "request_id", None),
        )
    return BatchItemResult(line.custom_id, "expired" if result.type == "expired" else "canceled")


def _remote_file(meta: Any) -> RemoteFile:
    return RemoteFile(
        id=meta.id,
        filename=meta.filename,
        mime_type=meta.mime_type,
        size=meta.size_bytes,
        downloadable=bool(getattr(meta, "downloadable", False)),
        created_at=meta.created_at,
        expires_at=getattr(meta, "expires_at", None),
    )


def _skill(skill: Any) -> SkillInfo:
    return SkillInfo(
        id=skill.id,
        display_name=skill.display_name,
        source=skill.source.type if hasattr(skill.source, "type") else str(skill.source),
        latest_version=skill.latest_version_id,
        created_at=skill.created_at,
    )


def _response(message: Any, request_id: str | None) -> Response:
    """Our ``Response`` from a GA ``Message`` or a beta ``BetaMessage`` (same shape where we read it)."""
    usage = message.usage
    content = [_plain(block) for block in message.content]
    code_runs = sum(
        1 for block in content if block.get("type") == "server_tool_use" and block.get("name") in CODE_EXECUTION_TOOLS
    )
    container = message.container
    creation = getattr(usage, "cache_creation", None)
    management = getattr(message, "context_management", None)
    details = message.stop_details
    return Response(
        content=content,
        stop_reason=message.stop_reason,
        container=(
            ContainerInfo(
                container.id,
                container.expires_at,
                skills=tuple(ContainerSkill(s.skill_id, s.type, s.version) for s in container.skills or ()),
            )
            if container is not None
            else None
        ),
        usage=Usage(
            input_tokens=usage.input_tokens or 0,
            output_tokens=usage.output_tokens or 0,
            cache_read_input_tokens=usage.cache_read_input_tokens or 0,
            cache_creation_input_tokens=usage.cache_creation_input_tokens or 0,
            code_execution_requests=code_runs,
            cache_creation_1h_input_tokens=(creation.ephemeral_1h_input_tokens or 0) if creation else 0,
            web_search_requests=getattr(usage.server_tool_use, "web_search_requests", 0) or 0,
            web_fetch_requests=getattr(usage.server_tool_use, "web_fetch_requests", 0) or 0,
        ),
        model=message.model,
        request_id=request_id,
        stop_details=details.model_dump(mode="json", exclude_none=True) if details is not None else None,
        context_edits=tuple(_plain(edit) for edit in management.applied_edits) if management is not None else (),
    )
