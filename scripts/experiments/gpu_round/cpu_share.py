"""Did a command keep the cores busy? Runs COMMAND with its output to LOG, then appends to LOG
(and prints) its wall time and the CPU seconds it and every child it waited for used, as a share
of the wall time × CORES: near 1, the cores were the limit.

    python cpu_share.py LOG WORKERS CORES COMMAND...

WORKERS only labels the line. Issue 14's gl_compare.sh wraps each `vla-bench run` in it.
"""
from __future__ import annotations

import resource
import subprocess
import sys
import time


def main() -> None:
    log, workers, cores, command = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    start = time.perf_counter()
    with open(log, "w") as out:
        code = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT).returncode
    wall = time.perf_counter() - start
    used = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workers too: the run waits for each
    cpu = used.ru_utime + used.ru_stime
    line = (f"exit {code} wall {wall:.1f} s, CPU {cpu:.0f} s (user {used.ru_utime:.0f}, system {used.ru_stime:.0f}), "
            f"{cpu / (wall * cores):.2f} of {cores} cores, {workers} workers")
    with open(log, "a") as out:
        out.write(line + "\n")
    print(log.split("/")[-1], line)


if __name__ == "__main__":
    main()
