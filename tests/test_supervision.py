"""The supervisor behind `assure serve`: restart pauses, when it gives up, and what it says."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from assure_cli.supervision import RestartPolicy, describe_exit


def test_restart_pauses_double_from_one_second_up_to_thirty() -> None:
    policy = RestartPolicy()
    assert [policy.delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_it_gives_up_only_on_enough_exits_within_the_window() -> None:
    policy = RestartPolicy(give_up_after=5, window=60)
    assert not policy.gives_up([0, 10, 20, 30], now=30)
    assert policy.gives_up([0, 10, 20, 30, 40], now=40)
    assert not policy.gives_up([0, 10, 20, 30, 70], now=70)  # the first is over a minute old
    assert not RestartPolicy().gives_up([0.0] * 100, now=0)  # workers are never given up on


def test_exit_statuses_are_named() -> None:
    assert describe_exit(-9) == "was killed by SIGKILL"
    assert describe_exit(3) == "exited with status 3"


SUPERVISED = textwrap.dedent(
    """
    import subprocess, sys
    from assure_cli.supervision import Child, RestartPolicy, supervise

    def start(code):
        return lambda: subprocess.Popen([sys.executable, "-c", code])

    crashing = RestartPolicy(first_delay=0.05, give_up_after=3, window=30)
    sys.exit(supervise(
        [
            Child("app", start("import sys; sys.exit(3)"), crashing),
            Child("sibling", start("import time; time.sleep(60)")),
        ],
        poll=0.05,
        grace=5,
    ))
    """
)


def test_a_child_that_keeps_dying_stops_everything_with_exit_1_and_says_why() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SUPERVISED], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("app (pid") == 2  # two restarts, then it gives up
    assert "app exited with status 3; it exited 3 times within 30 s" in done.stderr
    assert "serve is stopping" in done.stderr
