"""Keep `assure serve`'s children running: restart whatever exits, after a growing pause, and
stop them all on SIGINT or SIGTERM.

One child dying must not take the others with it: a worker killed by the kernel for using too
much memory is restarted while the app keeps answering. A child that keeps dying straight after
it starts is a configuration problem, not bad luck, so for the app that ends the whole serve.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType

Process = subprocess.Popen[bytes]


@dataclass(frozen=True)
class RestartPolicy:
    first_delay: float = 1.0
    max_delay: float = 30.0
    # A child that ran this long before it exited was healthy; its restart pauses briefly again.
    healthy_after: float = 60.0
    # Give up once it exits this many times within `window` seconds; None restarts for ever.
    give_up_after: int | None = None
    window: float = 60.0

    def delay(self, quick_exits: int) -> float:
        """The pause before the next start, after `quick_exits` quick exits in a row (1, 2, ...)."""
        return min(self.max_delay, self.first_delay * 2 ** max(0, quick_exits - 1))

    def gives_up(self, exits: Sequence[float], now: float) -> bool:
        if self.give_up_after is None:
            return False
        return sum(1 for moment in exits if now - moment <= self.window) >= self.give_up_after


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"


@dataclass
class Child:
    name: str
    start: Callable[[], Process]
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    # Runs once each process has exited and been reaped (a worker's jobs are settled here);
    # returns what it did, for the log line.
    on_exit: Callable[[Process], str] | None = None
    process: Process | None = None
    started_at: float = 0.0
    restart_at: float = 0.0
    quick_exits: int = 0
    exits: list[float] = field(default_factory=list)

    def launch(self, now: float) -> None:
        self.process, self.started_at = self.start(), now

    def reap(self) -> str:
        """Forget the exited process, after running `on_exit` for it."""
        process, self.process = self.process, None
        if process is None or self.on_exit is None:
            return ""
        try:
            return self.on_exit(process)
        except Exception as exc:
            # Never let bookkeeping stop the supervisor; the heartbeat check is the backstop.
            return f"after-exit step failed ({type(exc).__name__}: {exc})"


def say(line: str) -> None:
    print(f"assure serve: {line}", file=sys.stderr, flush=True)


def _exited(child: Child, process: Process, now: float) -> bool:
    """Record an exit and plan the restart; True when the child should not be restarted."""
    returncode = process.returncode
    quick = now - child.started_at < child.policy.healthy_after
    child.quick_exits = child.quick_exits + 1 if quick else 1
    child.exits = [m for m in child.exits if now - m <= child.policy.window] + [now]
    note = child.reap()
    status = describe_exit(returncode)
    if child.policy.gives_up(child.exits, now):
        say(
            f"{child.name} {status}; it exited {len(child.exits)} times within "
            f"{child.policy.window:g} s, so serve is stopping; see its output above"
        )
        return True
    delay = child.policy.delay(child.quick_exits)
    child.restart_at = now + delay
    detail = f"; {note}" if note else ""
    say(f"{child.name} (pid {process.pid}) {status}{detail}; restarting in {delay:g} s")
    return False


def _stop_all(children: Sequence[Child], grace: float) -> None:
    running = [child for child in children if child.process is not None]
    for child in running:
        assert child.process is not None
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + grace
    for child in running:
        assert child.process is not None
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()
        note = child.reap()
        if note:
            say(f"{child.name} stopped; {note}")


def supervise(children: Sequence[Child], poll: float = 0.2, grace: float = 10.0) -> int:
    """Run the children until SIGINT/SIGTERM (returns 0) or until one gives up (returns 1)."""
    stopping = False

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    code = 0
    try:
        for child in children:
            child.launch(time.monotonic())
        while not stopping and code == 0:
            for child in children:
                now = time.monotonic()
                if child.process is None:
                    if now >= child.restart_at:
                        child.launch(now)
                elif child.process.poll() is not None and not stopping:
                    code = 1 if _exited(child, child.process, now) else 0
                    if code:
                        break
            time.sleep(poll)
    finally:
        _stop_all(children, grace)
        for sig, handler in previous.items():
            if handler is not None:  # None: the old handler was not installed from Python
                signal.signal(sig, handler)
    return code
