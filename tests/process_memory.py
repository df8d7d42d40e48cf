"""Memory of a process tree, as the hostile-input tests measure it: PSS from /proc, sampled while it runs."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants, from the parent ids in /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # gone while we looked
            children.setdefault(ppid, []).append(int(entry.name))
    tree, stack = [], [root]
    while stack:
        pid = stack.pop()
        tree.append(pid)
        stack.extend(children.get(pid, []))
    return tree


def pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass  # exited between listing and reading
    return 0


def run_sampling_peak_pss(args: list[str], timeout: float) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``args``; return how it ended and the peak PSS of its process tree (MB), sampled every 50 ms."""
    process = subprocess.Popen(args, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], sum(pss_kb(pid) for pid in process_tree(process.pid)))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        done.set()
        sampler.join()
        if process.poll() is None:
            process.kill()
            process.wait()
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr), peak[0] / 1024


def tree_pss_kb(root: int) -> int:
    """PSS of ``root`` and all its descendants, in kB (0 for processes already gone)."""
    return sum(pss_kb(pid) for pid in process_tree(root))


@contextmanager
def peak_pss(root: int) -> Iterator[list[int]]:
    """Samples the tree's PSS every 50 ms while the block runs; yields a list whose [0] is the peak (kB)."""
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_pss_kb(root))
            done.wait(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        done.set()
        thread.join()
