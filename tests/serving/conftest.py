"""Real `vla-bench serve` processes for the serving tests."""
import re
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

POLICIES = Path(__file__).parents[1] / "runner" / "policies.py"


@contextmanager
def served(*args: str, startup_s: float = 120.0):
    """`vla-bench serve ARGS --port 0` in its own process; yields its ws:// address."""
    process = subprocess.Popen([sys.executable, "-m", "vla_bench.cli", "serve", *args, "--host", "127.0.0.1",
                                "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        address = wait_for_address(process, startup_s)
        threading.Thread(target=process.stdout.read, daemon=True).start()  # keep its pipe from filling up
        yield address
    finally:
        process.kill()
        process.wait(timeout=10)


def wait_for_address(process: subprocess.Popen, startup_s: float) -> str:
    """The ws:// address a server process prints once it listens."""
    deadline = time.monotonic() + startup_s
    lines = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line)
        found = re.search(r"on (ws://\S+)", line)
        if found:
            return found.group(1)
    raise RuntimeError(f"the server did not start:\n{''.join(lines)}")
