"""nginx configuration read as nginx reads it: directives with their arguments and blocks, so
the tests take the proxy's settings from the file the guide ships (deploy/nginx/) instead of
a copy of them. Only the syntax the project's files use: comments, quoted strings, blocks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PROXY_CONF = DEPLOY / "nginx" / "assure.conf"
UPSTREAMS = (DEPLOY / "nginx" / "upstreams.conf", DEPLOY / "nginx" / "upstreams-compose.conf")


class ConfSyntaxError(ValueError):
    """The text is not a configuration nginx would read."""


@dataclass(frozen=True)
class Directive:
    name: str
    args: tuple[str, ...]
    # The directives inside `{ }`, or None for a simple directive ending in `;`.
    block: tuple[Directive, ...] | None
    line: int

    def children(self, name: str) -> list[Directive]:
        return [d for d in self.block or () if d.name == name]


def _tokens(text: str) -> Iterator[tuple[str, int, bool]]:
    """(token, line, quoted): words, quoted strings without their quotes, and `{ } ;`."""
    i, line, end = 0, 1, len(text)
    while i < end:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c.isspace():
            i += 1
        elif c == "#":
            while i < end and text[i] != "\n":
                i += 1
        elif c in "{};":
            yield c, line, False
            i += 1
        elif c in "\"'":
            start_line, value, i = line, [], i + 1
            while i < end and text[i] != c:
                if text[i] == "\\" and i + 1 < end:
                    i += 1
                line += text[i] == "\n"
                value.append(text[i])
                i += 1
            if i >= end:
                raise ConfSyntaxError(f"line {start_line}: a quoted string is never closed")
            yield "".join(value), start_line, True
            i += 1
        else:
            start = i
            while i < end and not text[i].isspace() and text[i] not in "{};\"'":
                i += 1
            yield text[start:i], line, False


def parse(text: str) -> tuple[Directive, ...]:
    """The top-level directives of `text` (for a file included in `http`, the http level)."""
    stack: list[list[Directive]] = [[]]
    opened: list[tuple[str, tuple[str, ...], int]] = []
    words: list[str] = []
    first_line = 0
    for token, line, quoted in _tokens(text):
        if quoted or token not in "{};":
            first_line = first_line or line
            words.append(token)
            continue
        if token == "}":
            if words or not opened:
                raise ConfSyntaxError(f"line {line}: unexpected `}}`")
            name, args, at = opened.pop()
            block = tuple(stack.pop())
            stack[-1].append(Directive(name, args, block, at))
            continue
        if not words:
            raise ConfSyntaxError(f"line {line}: `{token}` without a directive")
        if token == "{":
            opened.append((words[0], tuple(words[1:]), first_line))
            stack.append([])
        else:
            stack[-1].append(Directive(words[0], tuple(words[1:]), None, first_line))
        words, first_line = [], 0
    if words:
        raise ConfSyntaxError(f"line {first_line}: `{words[0]}` is not ended with `;`")
    if opened:
        raise ConfSyntaxError(f"line {opened[-1][2]}: `{opened[-1][0]} {{` is never closed")
    return tuple(stack[0])


def read(path: Path = PROXY_CONF) -> tuple[Directive, ...]:
    return parse(path.read_text())


def walk(directives: tuple[Directive, ...], depth: int = 0) -> Iterator[tuple[Directive, int]]:
    """Every directive with how deep it sits (0: the level the file is included at)."""
    for directive in directives:
        yield directive, depth
        yield from walk(directive.block or (), depth + 1)


def servers(directives: tuple[Directive, ...]) -> list[Directive]:
    return [d for d in directives if d.name == "server"]


def tls_server_named(directives: tuple[Directive, ...], name: str) -> Directive:
    """The one server block that answers `name` over TLS."""
    found = [
        s
        for s in servers(directives)
        if any(name in d.args for d in s.children("server_name"))
        and any("ssl" in d.args for d in s.children("listen"))
    ]
    if len(found) != 1:
        raise LookupError(f"{len(found)} TLS servers are named {name}")
    return found[0]
