"""The three frameworks the case-notes API is built in, each served on a free loopback port."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from tests.peers.ground_truth.case_notes import Mode
from tests.peers.ground_truth.fastapi_target import serving_fastapi
from tests.peers.ground_truth.flask_target import serving_flask
from tests.peers.ground_truth.stdlib_target import serving_stdlib

Serving = Callable[[Mode], contextlib.AbstractContextManager[str]]
FRAMEWORKS: dict[str, Serving] = {
    "stdlib": serving_stdlib,
    "fastapi": serving_fastapi,
    "flask": serving_flask,
}


def serving(framework: str, mode: Mode) -> contextlib.AbstractContextManager[str]:
    """Serve one framework's target in one mode; yields its base URL."""
    return FRAMEWORKS[framework](mode)
