"""`assure check ...` ends without the interpreter's teardown once its output is written
(assure_cli/main.py, issue 20: start-up), and loses nothing by it: what was printed reaches the
reader, functions registered to run at exit run, and the status is the command's. Any other
command, a status that is not a number, or a thread still running ends the usual way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# Prints without a newline (so only a flush delivers it), registers an at-exit function, then
# hands the command's SystemExit to the quick exit, as run() does. If the process is still here
# afterwards, it says so and ends the usual way.
SCRIPT = """\
import atexit, sys, threading, time
from pathlib import Path
from assure_cli.main import _exit_at_once
marker, command, code, thread = sys.argv[1:5]
sys.argv = ["assure", command]
atexit.register(lambda: Path(marker).write_text("ran", "utf-8"))
if thread == "thread":
    threading.Thread(target=time.sleep, args=(0.5,)).start()
sys.stdout.write("report " * 5000)
status = int(code) if code.lstrip("-").isdigit() else (None if code == "none" else code)
_exit_at_once(SystemExit(status))
sys.stdout.write("|still here")
"""


def _run(tmp_path: Path, command: str, code: str, thread: str = "") -> tuple[int, str, bool]:
    marker = tmp_path / "atexit.txt"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(marker), command, code, thread or "-"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout, marker.exists()


@pytest.mark.parametrize(("code", "status"), [("0", 0), ("1", 1), ("2", 2), ("none", 0)])
def test_a_check_ends_at_once_with_its_output_its_exit_functions_and_its_status(
    tmp_path: Path, code: str, status: int
) -> None:
    returncode, stdout, ran = _run(tmp_path, "check", code)
    assert returncode == status
    assert stdout == "report " * 5000  # everything written, and nothing after the exit
    assert ran


@pytest.mark.parametrize("command", ["serve", "worker", "score", "--help"])
def test_other_commands_end_the_usual_way(tmp_path: Path, command: str) -> None:
    returncode, stdout, ran = _run(tmp_path, command, "0")
    assert stdout.endswith("|still here")
    assert (returncode, ran) == (0, True)


def test_a_message_status_ends_the_usual_way(tmp_path: Path) -> None:
    returncode, stdout, _ = _run(tmp_path, "check", "bad")
    assert stdout.endswith("|still here")
    assert returncode == 0  # the script itself carries on to its end


def test_a_running_thread_is_waited_for(tmp_path: Path) -> None:
    returncode, stdout, ran = _run(tmp_path, "check", "1", "thread")
    assert stdout.endswith("|still here")
    assert (returncode, ran) == (0, True)
