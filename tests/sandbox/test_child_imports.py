"""The sandboxed check process blocks rfc3987_syntax (child.UNUSED_IMPORTS): jsonschema loads it
only to check the "iri" formats. That is safe only while no schema the API check validates a
description against names them; this holds the assumption against the installed libraries."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import openapi_schema_validator
from jsonschema_specifications import REGISTRY
from openapi_spec_validator.schemas import get_schema_content_v30, get_schema_content_v31

from checks.sandbox.child import UNUSED_IMPORTS

IRI_FORMATS = {"iri", "iri-reference"}


def formats(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("format"), str):
            yield node["format"]
        for value in node.values():
            yield from formats(value)
    elif isinstance(node, list):
        for value in node:
            yield from formats(value)


def test_no_meta_schema_of_an_openapi_description_names_an_iri_format() -> None:
    schemas = [
        get_schema_content_v30(),
        get_schema_content_v31(),
        openapi_schema_validator.OAS30Validator.META_SCHEMA,
        openapi_schema_validator.OAS31Validator.META_SCHEMA,
        # The 2020-12 vocabularies the 3.1 dialect builds on, and draft 4 for 3.0.
        *(REGISTRY.contents(uri) for uri in REGISTRY if "2020-12" in uri or "draft-04" in uri),
    ]
    seen = {found for schema in schemas for found in formats(schema)}
    assert "uri-reference" in seen  # the walk reaches the formats the schemas do use
    assert not seen & IRI_FORMATS


def test_the_check_process_validates_a_description_without_the_blocked_imports() -> None:
    # What the child does: block, then import the API check and validate a description.
    code = (
        "import sys\n"
        f"for name in {UNUSED_IMPORTS!r}: sys.modules.setdefault(name, None)\n"
        "from checks.api.spec import load_spec\n"
        "from checks.egress import EgressPolicy\n"
        "import json, tempfile, pathlib\n"
        "bad = {'openapi': '3.1.0', 'info': {'title': 't'}, 'paths': {}}\n"
        "path = pathlib.Path(tempfile.mkdtemp()) / 'bad.json'\n"
        "path.write_text(json.dumps(bad))\n"
        "spec = load_spec(str(path), EgressPolicy.loopback_only())\n"
        f"print(spec.valid, all(sys.modules[name] is None for name in {UNUSED_IMPORTS!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    # info without a version is invalid: validation still runs and still judges.
    assert result.stdout.split() == ["False", "True"]
