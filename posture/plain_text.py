"""Free text a person types into a form, defined once: trimmed, bounded, and plain (no control
or bidi characters, which hide text from the reader of a register, a portfolio or an export)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints, ValidationError

# Control characters (but tab and line breaks), zero-width, line-separator, bidi and byte-order
# characters: what hides text from the reader of a register. Spelled in the syntax Python, Rust
# (pydantic) and ECMA regexes all read alike, so clients and server agree on what is refused.
_HIDDEN = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff"
PLAIN_TEXT = rf"^[^{_HIDDEN}]*$"


def _plain(value: str) -> str:
    # Control characters (other than line breaks and tabs) hide text from the reader; bidi
    # overrides are Unicode format characters, refused alike.
    value = value.replace("\r\n", "\n")
    if any(char not in "\n\t\u00a0" and not char.isprintable() for char in value):
        raise ValueError("must not contain control characters; use plain text")
    return value


HIDDEN_CHARACTERS = re.compile(rf"[{_HIDDEN}]")


def without_hidden(value: str) -> str:
    """`value` with the characters PLAIN_TEXT refuses taken out: for a field whose schema states
    the rule in words rather than as a pattern, so that what the schema allows is accepted (and
    what is left is checked as any typed text is)."""
    return HIDDEN_CHARACTERS.sub("", value)


def plain_text(min_length: int, max_length: int) -> Any:
    """Free text of `min_length` to `max_length` characters once trimmed."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        AfterValidator(_plain),
    ]


# A name of a person, product or organisation.
Name = plain_text(2, 200)


def schema_text(min_length: int, max_length: int, also_refused: str = "") -> Any:
    """Plain text whose published schema says all it refuses (length as sent, the hidden
    characters, and `also_refused`), for models the partner API takes as they are: a request
    the schema allows is never malformed. Not trimmed: callers trim what people type, and a
    value that begins or ends with a space is a conflict for the service to refuse."""
    return Annotated[
        str,
        Field(
            min_length=min_length,
            max_length=max_length,
            pattern=rf"^[^{_HIDDEN}{also_refused}]*$",
        ),
    ]


def said(exc: ValidationError, *, located: bool = True) -> str:
    """A model's refusal in words a person reads: where, then what is wrong (a pattern named by
    what it refuses, not by its regular expression). Not `located`: what is wrong only, for a
    form whose widgets the reader knows by their labels rather than by the model's names."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "string_pattern_mismatch":
            typed = error.get("input")
            if isinstance(typed, str) and ";" in typed and ";" in error["ctx"]["pattern"]:
                message = "must not contain ';'"
            else:
                message = "must be plain text, without control, hidden or bidi characters"
        parts.append(f"{where}: {message}" if where and located else message)
    return "; ".join(parts)
