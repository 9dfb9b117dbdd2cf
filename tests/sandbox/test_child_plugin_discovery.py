"""The sandboxed check process does not import the metadata reader pydantic's plugin loader needs
(child.skip_plugin_discovery): it stands in for the loader only where the real one would find no
plugins because PYDANTIC_DISABLE_PLUGINS is "__all__", as every sandbox's environment sets it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from checks.sandbox.environment import child_environment

# In a fresh interpreter, as the child: stand in (or not), then build and use a model.
SCRIPT = """\
import json, sys
from checks.sandbox.child import skip_plugin_discovery
skip_plugin_discovery()
from pydantic import BaseModel, Field
class Order(BaseModel):
    target: str = Field(max_length=10)
    ports: tuple[int, ...] = ()
ok = Order.model_validate({"target": "127.0.0.1", "ports": [443]})
try:
    Order(target="x" * 11)
    refused = False
except ValueError:
    refused = True
loader = sys.modules["pydantic.plugin._loader"]
print(json.dumps({
    "dumped": ok.model_dump(),
    "refused": refused,
    "metadata_imported": "importlib.metadata" in sys.modules,
    "real_loader": hasattr(loader, "_plugins"),
}))
"""


def _run(env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-I", "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_in_the_sandbox_environment_models_work_without_the_metadata_reader() -> None:
    env = child_environment()
    assert env["PYDANTIC_DISABLE_PLUGINS"] == "__all__"
    seen = _run(env)
    assert seen["dumped"] == {"target": "127.0.0.1", "ports": [443]}
    assert seen["refused"] is True
    assert seen["metadata_imported"] is False
    assert seen["real_loader"] is False


@pytest.mark.parametrize("setting", [None, "some_plugin", "1"])
def test_where_plugins_might_load_the_real_loader_stays(setting: str | None) -> None:
    env = {k: v for k, v in child_environment().items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    if setting is not None:
        env["PYDANTIC_DISABLE_PLUGINS"] = setting
    seen = _run(env)
    assert seen["dumped"] == {"target": "127.0.0.1", "ports": [443]}
    assert seen["real_loader"] is True
