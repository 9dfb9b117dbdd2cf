"""Bounded parsing of JSON and YAML that a supplier controls.

Python's parsers trust their input: json.loads recurses once per nesting level (RecursionError),
int() refuses numbers over 4,300 digits (ValueError), and PyYAML shares aliased nodes, so a few
hundred bytes can stand for billions once anything walks or serialises the result. Native
validators that run after parsing (jsonschema-rs) do not even raise on deep input: they overflow
the stack and end the process. Every limit here is checked before the structure is built or
walked, and every refusal is one InputRefused saying which limit and why in words a user reads.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from enum import StrEnum
from itertools import accumulate
from typing import Any

import yaml

# 64 levels: the deepest real documents we read are OSCAL catalogs (NIST SP 800-53 rev5 nests 18
# levels), OpenAPI descriptions (Twilio's nests 15) and CBOMs (8). Recursive consumers such as
# jsonschema spend three to four Python frames a level (300 levels of nested OSCAL groups exhaust
# the interpreter's 1,000), so 64 leaves them room wherever on the stack they are called from.
MAX_DEPTH = 64
# 100 characters: a 64-bit integer has 20, the longest float repr 24; nothing legitimate in a
# JSON Web Key Set, CBOM, catalog or API description is longer, and the cap stays far below
# int()'s 4,300-digit refusal, whose ValueError would otherwise escape as a traceback.
MAX_NUMBER_CHARS = 100
# YAML only. 100 aliases: hand-written descriptions use a handful to share a schema; billion-laughs
# needs dozens. Two million expanded nodes: real documents run 15 to 30 bytes a node (Twilio's API
# description 28, NIST's 800-53 catalog 15), so that is a 30 MB document's worth, a tree a walk or
# json.dumps handles in seconds, while an alias bomb expands past it by orders of magnitude.
MAX_ALIASES = 100
MAX_EXPANDED_NODES = 2_000_000


class Limit(StrEnum):
    SIZE = "size"
    DEPTH = "depth"
    NUMBER_LENGTH = "number-length"
    NUMBER_VALUE = "number-value"
    ALIASES = "aliases"
    RECURSIVE_ALIAS = "recursive-alias"
    EXPANDED_NODES = "expanded-nodes"


class InputRefused(ValueError):
    """The input exceeds a structural limit; `limit` says which, the message says it in words."""

    def __init__(self, limit: Limit, message: str) -> None:
        super().__init__(message)
        self.limit = limit


@dataclass(frozen=True)
class Limits:
    """One caller's limits; max_bytes has no default because only the caller knows its input."""

    max_bytes: int
    max_depth: int = MAX_DEPTH
    max_number_chars: int = MAX_NUMBER_CHARS
    max_aliases: int = MAX_ALIASES
    max_expanded_nodes: int = MAX_EXPANDED_NODES


def _refuse_size(size: int, limits: Limits) -> None:
    if size > limits.max_bytes:
        raise InputRefused(Limit.SIZE, f"larger than {limits.max_bytes} bytes")


def _refuse_depth(depth: int, limits: Limits, after: str = "") -> None:
    if depth > limits.max_depth:
        raise InputRefused(Limit.DEPTH, f"nested deeper than {limits.max_depth} levels{after}")


# --- JSON -----------------------------------------------------------------------------------

# Everything but quotes and brackets goes; brackets then become +1/-1 as signed bytes.
_NOT_MARKS = bytes(b for b in range(256) if b not in b'"[]{}')
_STEPS = bytes(1 if chr(b) in "[{" else 255 if chr(b) in "]}" else 0 for b in range(256))
_QUOTED = re.compile(rb'"[^"]*"')


def json_depth(data: bytes) -> int:
    """Deepest bracket nesting outside strings in UTF-8 JSON, in linear time at C speed.

    A character loop in Python takes seconds on a 20 MB file, so the scan is a few whole-buffer
    passes instead: drop escaped backslashes, then escaped quotes, so every quote left delimits a
    string; keep only quotes and brackets; drop adjacent quote pairs (empty once their text is
    gone, and removing two neighbours never changes which quotes pair up); drop what is left
    between quotes (strings that held brackets); then the running sum of +1/-1 is the depth.
    Input that is not valid JSON may scan deeper than it is, never shallower than the point where
    json.loads would stop, so the bound still holds for whatever the parser would recurse into.
    """
    unescaped = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    marks = unescaped.translate(None, _NOT_MARKS).replace(b'""', b"")
    steps = _QUOTED.sub(b"", marks).translate(_STEPS, b'"')
    return max(accumulate(memoryview(steps).cast("b")), default=0)


def _utf8(raw: bytes | str) -> bytes:
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogatepass")
    encoding = json.detect_encoding(raw)
    if encoding in ("utf-8", "utf-8-sig"):
        return raw
    # UTF-16 and UTF-32 JSON is legal; its bytes do not show brackets plainly, so scan it as UTF-8.
    return raw.decode(encoding).encode("utf-8", "surrogatepass")


def _number_hooks(limits: Limits) -> dict[str, Any]:
    def checked(text: str) -> str:
        if len(text) > limits.max_number_chars:
            raise InputRefused(
                Limit.NUMBER_LENGTH,
                f"a number is longer than {limits.max_number_chars} characters "
                f"({len(text)} characters starting {text[:12]}...)",
            )
        return text

    def parse_float(text: str) -> float:
        value = float(checked(text))
        if not math.isfinite(value):
            raise InputRefused(Limit.NUMBER_VALUE, f"the number {text[:24]} is out of range")
        return value

    def parse_constant(text: str) -> Any:
        raise InputRefused(Limit.NUMBER_VALUE, f"{text} is not a JSON number")

    return {
        "parse_int": lambda text: int(checked(text)),
        "parse_float": parse_float,
        "parse_constant": parse_constant,
    }


def load_json(raw: bytes | str, limits: Limits) -> Any:
    """json.loads within limits. Malformed JSON still raises json.JSONDecodeError (and bytes that
    are not text UnicodeDecodeError), so each caller keeps its own wording for those."""
    if isinstance(raw, bytes):
        _refuse_size(len(raw), limits)  # before decoding anything
    data = _utf8(raw)
    _refuse_size(len(data), limits)
    _refuse_depth(json_depth(data), limits)
    try:
        return json.loads(raw, **_number_hooks(limits))
    except (InputRefused, json.JSONDecodeError, UnicodeDecodeError):
        raise
    except RecursionError as exc:  # a backstop: the scan above should make it unreachable
        raise InputRefused(Limit.DEPTH, "nested too deeply to parse") from exc
    except ValueError as exc:
        raise InputRefused(Limit.NUMBER_LENGTH, f"a number cannot be read: {exc}") from exc


# --- YAML -----------------------------------------------------------------------------------


class BoundedYamlLoader(yaml.SafeLoader):
    """SafeLoader that counts aliases and depth while composing, then measures what the composed
    graph expands to before constructing anything from it."""

    def __init__(self, stream: str | bytes, limits: Limits) -> None:
        super().__init__(stream)
        self.limits = limits
        self._aliases = 0
        self._depth = 0
        self._composed = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > self.limits.max_aliases:
                raise InputRefused(
                    Limit.ALIASES,
                    f"more than {self.limits.max_aliases} YAML aliases: refused as an alias bomb",
                )
        else:
            # Counted while composing: a file of millions of small nodes is refused before its
            # node tree (several hundred bytes a node in Python) is built, not after.
            self._composed += 1
            if self._composed > self.limits.max_expanded_nodes:
                raise InputRefused(
                    Limit.EXPANDED_NODES,
                    f"more than {self.limits.max_expanded_nodes} YAML nodes: refused as too large",
                )
        self._depth += 1
        try:
            _refuse_depth(self._depth, self.limits)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_node(self) -> Any:
        node = super().get_single_node()
        if node is not None:
            expanded_extent(node, self.limits)
        return node

    def construct_bounded_int(self, node: yaml.ScalarNode) -> int:
        _refuse_number_length(node.value, self.limits)
        return self.construct_yaml_int(node)

    def construct_bounded_float(self, node: yaml.ScalarNode) -> float:
        _refuse_number_length(node.value, self.limits)
        return self.construct_yaml_float(node)


BoundedYamlLoader.add_constructor("tag:yaml.org,2002:int", BoundedYamlLoader.construct_bounded_int)
BoundedYamlLoader.add_constructor(
    "tag:yaml.org,2002:float", BoundedYamlLoader.construct_bounded_float
)


def _refuse_number_length(text: str, limits: Limits) -> None:
    if len(text) > limits.max_number_chars:
        raise InputRefused(
            Limit.NUMBER_LENGTH,
            f"a number is longer than {limits.max_number_chars} characters",
        )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def expanded_extent(root: yaml.Node, limits: Limits) -> tuple[int, int]:
    """(nodes, depth) of the tree the composed graph stands for once every alias is copied out.

    Memoised by node identity and walked without recursion, so it costs one visit per composed
    node however many times aliases repeat it: the bomb is measured, never built. A node met
    again while its own children are still being counted is inside itself (`&a [*a]`).
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, counted = stack.pop()
        key = id(node)
        if counted:
            children = _children(node)
            size[key] = 1 + sum(size[id(child)] for child in children)
            depth[key] = 1 + max((depth[id(child)] for child in children), default=0)
            open_nodes.discard(key)
            if size[key] > limits.max_expanded_nodes:
                raise InputRefused(
                    Limit.EXPANDED_NODES,
                    f"expands to more than {limits.max_expanded_nodes} nodes through YAML "
                    "aliases: refused as an alias bomb",
                )
            _refuse_depth(depth[key], limits, " once YAML aliases are expanded")
            continue
        if key in size:
            continue
        if key in open_nodes:
            raise InputRefused(
                Limit.RECURSIVE_ALIAS,
                "a YAML alias refers to a node that contains it: refused as a recursive structure",
            )
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in size)
    return size[id(root)], depth[id(root)]


def load_yaml(text: str | bytes, limits: Limits) -> Any:
    """yaml.safe_load within limits. Malformed YAML still raises yaml.YAMLError."""
    _refuse_size(len(text.encode("utf-8") if isinstance(text, str) else text), limits)
    loader = BoundedYamlLoader(text, limits)
    try:
        return loader.get_single_data()
    except InputRefused:
        raise
    except RecursionError as exc:  # a backstop: compose_node's depth count should come first
        raise InputRefused(Limit.DEPTH, "nested too deeply to parse") from exc
    except ValueError as exc:
        # SafeConstructor lets datetime's ValueError out for a timestamp such as 2024-13-45.
        raise yaml.constructor.ConstructorError(problem=f"a value cannot be read: {exc}") from exc
    finally:
        loader.dispose()
