"""Run the `assure` command as a user would: a real process, real exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def assure(
    *args: str, env: dict[str, str], input_text: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assure_cli.main", *args],
        env=env,
        input=input_text,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def cli_env(data_dir: Path) -> dict[str, str]:
    """This process's environment without its ASSURE_ settings, pointed at one data directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSURE_")}
    env["ASSURE_DATA_DIR"] = str(data_dir)
    return env
