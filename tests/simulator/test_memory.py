"""The benchmarks' memory readings: what they report as Rasa's resident memory and its parts."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from simulator.stack import memory_bytes, memory_mb


def test_memory_of_a_live_process_has_its_anonymous_and_file_parts() -> None:
    """RSS is the sum the kernel reports; the anonymous part (the process's own heap) grows
    with what the process allocates, which is what the benchmark holds against the target."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; data = bytearray(64 * 2**20); data[::4096] = b'x' * len(data[::4096]); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        memory = memory_bytes(child.pid)
        while memory and memory["anon"] < 64 * 2**20 and time.monotonic() < deadline:
            time.sleep(0.05)
            memory = memory_bytes(child.pid)
        assert memory is not None
        assert memory["anon"] >= 64 * 2**20
        assert memory["file"] > 0
        assert memory["rss"] >= memory["anon"] + memory["file"] - 2**20
        assert memory_mb(child.pid)["rss"] >= 64
    finally:
        child.communicate(b"")


def test_memory_of_a_finished_process_is_none() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert memory_bytes(child.pid) is None
    assert memory_mb(child.pid) == {}
    assert memory_bytes(os.getpid()) is not None
