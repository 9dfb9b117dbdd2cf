"""Resource limits of a sandboxed check, applied by the child to itself before it reads input.

The values bound what one supplier file or peer can cost: the largest legitimate input (a
20 MB CBOM, a 25 MB OpenAPI description) is checked well inside them, and a hostile one hits
a limit and ends as a finding instead of taking memory or CPU from everything else.
"""

from __future__ import annotations

import resource
from dataclasses import asdict, dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class SandboxLimits:
    # Address space of the child: the interpreter with every check module loaded uses about
    # 130 MiB, so this leaves ~380 MiB for one input's data. Past it allocations fail
    # (MemoryError) rather than the kernel killing something else.
    memory_bytes: int = 512 * MIB
    # CPU seconds: SIGXCPU at the soft limit, SIGKILL a few seconds later.
    cpu_seconds: int = 60
    # Wall-clock seconds the parent waits before killing the child's whole process group.
    wall_seconds: float = 120.0
    # Largest report the parent will read back, and largest file the child may write.
    output_bytes: int = 128 * MIB
    open_files: int = 256

    def as_dict(self) -> dict[str, int | float]:
        return asdict(self)

    def with_wall(self, seconds: float) -> SandboxLimits:
        cpu = max(self.cpu_seconds, int(seconds))
        return SandboxLimits(self.memory_bytes, cpu, seconds, self.output_bytes, self.open_files)


def apply(limits: SandboxLimits) -> None:
    """Lower this process's limits; soft and hard alike, so nothing it runs can raise them."""
    for name, soft, hard in (
        (resource.RLIMIT_AS, limits.memory_bytes, limits.memory_bytes),
        (resource.RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 5),
        (resource.RLIMIT_FSIZE, limits.output_bytes, limits.output_bytes),
        (resource.RLIMIT_NOFILE, limits.open_files, limits.open_files),
        (resource.RLIMIT_CORE, 0, 0),
    ):
        _current_soft, current_hard = resource.getrlimit(name)
        if current_hard != resource.RLIM_INFINITY:
            hard = min(hard, current_hard)
            soft = min(soft, hard)
        resource.setrlimit(name, (soft, hard))
