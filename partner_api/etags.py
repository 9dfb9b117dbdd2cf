"""Strong ETags for read responses: a client that sends If-None-Match gets 304 when unchanged."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import Header, Response
from pydantic import BaseModel

IfNoneMatch = Annotated[
    str | None,
    Header(
        max_length=500,
        description="ETags from an earlier response; 304 Not Modified when one still matches.",
    ),
]
ETAG_RESPONSES: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified since the ETag given in If-None-Match."}
}


def conditional(if_none_match: str | None, body: BaseModel) -> Response:
    payload = body.model_dump_json().encode()
    etag = '"' + hashlib.sha256(payload).hexdigest()[:32] + '"'
    wanted = {tag.strip() for tag in (if_none_match or "").split(",")}
    if etag in wanted or "*" in wanted:
        return Response(status_code=304, headers={"ETag": etag})
    return Response(payload, media_type="application/json", headers={"ETag": etag})
