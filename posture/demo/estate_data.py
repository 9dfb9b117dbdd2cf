"""The demo estate's data files (posture/demo/*.yaml), read once."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml


@cache
def demo_data(name: str) -> dict[str, Any]:
    text = (resources.files("posture.demo") / name).read_text("utf-8")
    return yaml.safe_load(text)
