"""Run the `assure` command as a user would: a real process, real exit codes."""

from __future__ import annotations

import subprocess
import sys


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
