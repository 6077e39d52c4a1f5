"""What the benchmarks share: run a command as a child process, time it, and take its peak memory."""

import os
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Run:
    seconds: float  # wall time of the whole process
    peak_mb: float  # largest resident set of the process and its waited-for workers
    cpu_seconds: float  # user and system time of the process and its waited-for workers
    exit_code: int
    stdout: bytes


def run(command: list[str], cwd=None) -> Run:
    """Run `command` to completion; its stderr is dropped, its stdout kept."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        out.seek(0)
        return Run(seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime,
                   os.waitstatus_to_exitcode(status), out.read())


def median(runs: list[Run]) -> tuple[float, float]:
    """(median seconds, median peak MB)."""
    return statistics.median(r.seconds for r in runs), statistics.median(r.peak_mb for r in runs)
