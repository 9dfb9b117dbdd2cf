"""Log lines for the API and the worker: one JSON object a line (or plain text), each carrying
the id of the request it belongs to.

The request id lives in a context variable set by the API's middleware; anyio copies the
context into the threads that run sync routes, so every line a request logs carries it. Lines
never carry credentials: the access log names only the fields it chooses, and as a backstop any
extra field named like a credential is dropped, and whatever is shaped like a credential (bearer
and basic values, JWTs, URL user-info, `token=`/`password=`-style pairs) is masked in every
message, extra field value and traceback (mask_credentials).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import secrets
from contextvars import ContextVar
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class LogFormat(StrEnum):
    """How `assure api` and `assure worker` write their log lines (--log-format)."""

    json = "json"
    text = "text"


request_id: ContextVar[str | None] = ContextVar("assure_request_id", default=None)

# An inbound X-Request-ID is kept only if it is this plain; anything else (newlines that would
# forge log lines, 10 KB of padding, unicode look-alikes) is replaced by one we generate.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")

# The attributes every LogRecord has; whatever else a record carries came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}
_CREDENTIAL_NAME = re.compile(r"token|secret|password|passwd|authorization|cookie|api_?key", re.I)
_CREDENTIAL_TEXT = re.compile(
    r"(?i:bearer)\s+[^\s\"',;]+"  # an Authorization header's value
    # A JWT, wherever it appears; only from the start of a run of its characters, so a long
    # run of "eyJeyJ..." is scanned once, not once from each "eyJ" in it.
    r"|(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"
)
# A URL's user-info (`postgresql://user:password@host`, `redis://:password@host`): up to the
# last @ before the path, so an unencoded @ in the password does not leave its tail behind.
_URL_USERINFO = re.compile(r"(?<=://)[^\s/?#'\"<>]+@")
# key=value pairs named like a credential, in a query string, a libpq DSN or a message:
# `?token=`, `&api_key=`, `access_token=`, `password=`, `X-Amz-Signature=`, `?code=` (OAuth).
# The name's length is bounded and a match starts only where a name can: a message of 100 KB
# of "tokentoken..." costs a scan, not a scan from every "token" in it.
_CREDENTIAL_WORD = (
    r"[A-Za-z0-9_.-]{0,48}(?:token|secret|passw(?:or)?d|pwd|api_?key|apikey|access_?key"
    r"|private_?key|signature|credential|session_?id)[A-Za-z0-9_.-]{0,48}"
)
_CREDENTIAL_PARAMETER = re.compile(
    rf"(?i)((?<![A-Za-z0-9_.-])(?:{_CREDENTIAL_WORD}|sig|key|auth|code)=)"
    r"(?:'[^']*'|\"[^\"]*\"|[^&\s#\"',;]+)"
)
# The same names as quoted keys, as a dict's repr or a JSON text puts them in a message.
_CREDENTIAL_ITEM = re.compile(rf"(?i)([\"']{_CREDENTIAL_WORD}[\"']\s*:\s*)(?:('|\")(?:(?!\2).)*\2)")
# `Basic <base64 of user:password>`; the word alone ("basic checks") is left as it is.
_BASIC = re.compile(r"(?i:basic)\s+([A-Za-z0-9+/]{4,}={0,2})")
# Characters that would end or rewrite a line on a terminal: CR and LF, the other C0 controls
# (ESC starts the sequences that move the cursor), DEL, C1, and the unicode line separators.
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED_CONTROL = {"\n": "\\n", "\r": "\\r"}
MASK = "[redacted]"


def inbound_request_id(value: bytes | None) -> str:
    """The client's X-Request-ID when it is plain enough to log, else a fresh one."""
    if value is not None:
        try:
            text = value.decode("ascii")
        except UnicodeDecodeError:
            text = ""
        if REQUEST_ID_PATTERN.fullmatch(text):
            return text
    return secrets.token_hex(8)


def _basic(match: re.Match[str]) -> str:
    try:
        decoded = base64.b64decode(match.group(1), validate=True)
    except (binascii.Error, ValueError):
        return match.group(0)
    return MASK if b":" in decoded else match.group(0)


def mask_credentials(text: str) -> str:
    """`text` with every credential-shaped part replaced by MASK: bearer and basic values,
    JWTs, URL user-info, and credential-named key=value pairs and quoted items."""
    text = _CREDENTIAL_TEXT.sub(MASK, text)
    text = _BASIC.sub(_basic, text)
    text = _URL_USERINFO.sub(MASK + "@", text)
    text = _CREDENTIAL_ITEM.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}{m.group(2)}", text)
    return _CREDENTIAL_PARAMETER.sub(lambda m: m.group(1) + MASK, text)


def _masked(value: Any, depth: int = 0) -> Any:
    """An extra field's value with its credentials masked: strings masked, containers walked
    (a few levels deep), anything else masked as the text it would be logged as."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return mask_credentials(value)
    if depth < 4 and isinstance(value, dict):
        return {
            str(k): MASK if _CREDENTIAL_NAME.search(str(k)) else _masked(v, depth + 1)
            for k, v in value.items()
        }
    if depth < 4 and isinstance(value, list | tuple | set | frozenset):
        return [_masked(item, depth + 1) for item in value]
    return mask_credentials(str(value))


def _extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {
        key: _masked(value)
        for key, value in vars(record).items()
        if key not in _STANDARD and not key.startswith("_") and not _CREDENTIAL_NAME.search(key)
    }


def _escaped(match: re.Match[str]) -> str:
    char = match.group(0)
    return _NAMED_CONTROL.get(char) or (
        f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
    )


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id and the extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask_credentials(record.getMessage()),
            "request_id": request_id.get(),
        }
        for key, value in _extra_fields(record).items():
            line.setdefault(key, value)
        if record.exc_info:
            line["exception"] = mask_credentials(self.formatException(record.exc_info))
        return json.dumps(line, default=str, ensure_ascii=True)


class TextFormatter(logging.Formatter):
    """The plain form for a terminal: the same fields on one line, credentials masked alike."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        base = mask_credentials(super().format(record))
        extra = " ".join(f"{k}={v}" for k, v in _extra_fields(record).items())
        rid = request_id.get()
        # Line breaks and terminal controls stay escaped, so one record is one line here too
        # and a message cannot forge another line or rewrite this one.
        text = " ".join(part for part in (base, extra, f"request_id={rid}" if rid else "") if part)
        return _CONTROL.sub(_escaped, text)


def logging_config(log_format: LogFormat | str, level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` document: our handler on the root, uvicorn's loggers sent
    to it. uvicorn applies it in each of its worker processes as well (its `log_config`)."""
    json_lines = LogFormat(log_format) is LogFormat.json
    formatter = "kernel.logs.JsonFormatter" if json_lines else "kernel.logs.TextFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"assure": {"()": formatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "assure",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            # uvicorn's own handlers would print a second, unformatted copy of each line.
            "uvicorn": {"handlers": [], "propagate": True, "level": "WARNING"},
            "uvicorn.error": {"handlers": [], "propagate": True, "level": "WARNING"},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
            "huey": {"level": "INFO"},
            # Migrations log their plugins and dialect at every start.
            "alembic": {"level": "WARNING"},
        },
    }
