"""What every lint rule shares: the registry, the vocabulary (checks/data/api_lint_vocabulary.yaml)
and the small readings of names and schemas the rules agree on."""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Iterator
from functools import cache, lru_cache
from importlib import resources
from typing import Annotated, Any, TypeVar
from weakref import WeakKeyDictionary

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from checks.api.model import OpenApiView, Operation

Hit = tuple[str, dict[str, Any]]
Rule = Callable[[OpenApiView], Iterator[Hit]]
REGISTERED: dict[str, Rule] = {}
T = TypeVar("T")

WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})
READ_METHODS = frozenset({"get", "head"})


def rule(rule_id: str) -> Callable[[Rule], Rule]:
    def register(func: Rule) -> Rule:
        if rule_id in REGISTERED:
            raise RuntimeError(f"{rule_id} is registered twice")
        REGISTERED[rule_id] = func
        return func

    return register


def _regex(text: str) -> str:
    try:
        re.compile(text)
    except re.error as exc:
        raise ValueError(f"{text!r} is not a regular expression: {exc}") from exc
    return text


def _phrases(items: list[str]) -> frozenset[str]:
    for item in items:
        if item != item.lower().strip() or not re.fullmatch(r"[a-z0-9.-]+( [a-z0-9.-]+)*", item):
            raise ValueError(f"{item!r} is not a lowercase word or phrase")
    return frozenset(items)


Regex = Annotated[str, AfterValidator(_regex)]
Words = Annotated[list[str], Field(min_length=1), AfterValidator(_phrases)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CredentialWords(_Section):
    last_words: Words
    key_qualifiers: Words
    trailing_words: Words
    query_last_words: Words


class PublicWriteWords(_Section):
    words: Words


class PagingWords(_Section):
    words: Words
    description: Regex
    credential_description: Regex


class UrlInputWords(_Section):
    last_words: Words
    phrases: Words
    formats: Words
    description: Regex
    description_hints: Words


class ServerWords(_Section):
    internal_hosts: Words
    internal_suffixes: Words
    environment_words: Words


class ResponseWords(_Section):
    record_words: Words


class RequestWords(_Section):
    server_owned: Words


class StringWords(_Section):
    bounded_formats: Words


class VersioningWords(_Section):
    path_segment: Regex
    parameter_last_words: Words
    media_type: Regex


class LintVocabulary(_Section):
    credentials: CredentialWords
    public_writes: PublicWriteWords
    paging: PagingWords
    url_inputs: UrlInputWords
    servers: ServerWords
    responses: ResponseWords
    requests: RequestWords
    strings: StringWords
    versioning: VersioningWords


@cache
def vocabulary() -> LintVocabulary:
    text = (resources.files("checks") / "data" / "api_lint_vocabulary.yaml").read_text("utf-8")
    return LintVocabulary.model_validate(yaml.safe_load(text))


@cache
def pattern(text: str) -> re.Pattern[str]:
    return re.compile(text, re.IGNORECASE)


_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


# Bounded: a hostile description can hold millions of distinct names.
@lru_cache(maxsize=8192)
def words(name: str) -> tuple[str, ...]:
    """`authToken`, `auth_token` and `Auth-Token` all read as ("auth", "token")."""
    return tuple(w.lower() for w in _WORD.findall(str(name)))


def phrase(name: str) -> str:
    return " ".join(words(name))


def names_credential(name: str, in_query: bool = False) -> bool:
    """A name that reads as a secret: its last word (before a trailing `hash` or `value`) is a
    secret noun, or it ends in `<qualifier> key`. A cursor (`page_token`) is not a secret."""
    vocab = vocabulary().credentials
    parts = list(words(name))
    while len(parts) > 1 and parts[-1] in vocab.trailing_words:
        parts.pop()
    if not parts or set(parts) & vocabulary().paging.words:
        return False
    last = parts[-1]
    if last in vocab.last_words or (in_query and last in vocab.query_last_words):
        return True
    return last == "key" and len(parts) > 1 and parts[-2] in vocab.key_qualifiers


def types_of(node: dict[str, Any]) -> set[str]:
    """The declared types; anything but a string or a list of strings (a remote $ref's document
    was never validated) declares none."""
    declared = node.get("type")
    listed = declared if isinstance(declared, list) else [declared]
    return {t for t in listed if isinstance(t, str)}


def _memo(view: OpenApiView, key: Hashable, build: Callable[[], Iterable[T]]) -> list[T]:
    """What several rules read (operations, responses, every sub-schema) is built once per view:
    every rule re-walking the document would multiply the lint's time by the number of rules. The
    store goes with the view, so nothing outlives a lint run."""
    store = _MEMO.setdefault(view, {})
    if key not in store:
        store[key] = list(build())
    return store[key]


_MEMO: WeakKeyDictionary[OpenApiView, dict[Hashable, list[Any]]] = WeakKeyDictionary()


def operations(view: OpenApiView) -> list[Operation]:
    return _memo(view, "operations", view.operations)


def responses(view: OpenApiView, operation: Operation) -> dict[str, Any]:
    key = ("responses", operation.path, operation.method)
    (found,) = _memo(view, key, lambda: [view.responses(operation)])
    return found


def status_codes(view: OpenApiView, operation: Operation) -> set[str]:
    return {code.upper() for code in responses(view, operation)}


def input_schemas(view: OpenApiView) -> list[tuple[str, dict[str, Any], str]]:
    """Every sub-schema of every parameter and request body, once, with the first operation that
    takes it (shared components are walked once, which keeps the lint linear)."""
    roots = (
        (schema, where, operation.label)
        for operation in operations(view)
        for where, schema in view.request_schemas(operation)
    )
    return _memo(view, "input", lambda: view.walk_schemas(roots))


def response_schemas(view: OpenApiView) -> list[tuple[str, dict[str, Any], str]]:
    roots = (
        (schema, where, operation.label)
        for operation in operations(view)
        for where, schema in view.response_schemas(operation)
    )
    return _memo(view, "output", lambda: view.walk_schemas(roots))


def properties_of(view: OpenApiView, node: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, child in (node.get("properties") or {}).items():
        resolved = view.deref(child)
        if isinstance(resolved, dict):
            yield str(name), resolved
