"""Benchmark orderlint against TorchFix and ruff on the same tree, in the same run.

    python bench/run.py TREE [--runs 3] [--slow-runs 1] [--torchfix PATH] [--ruff PATH] [--skip torchfix]

Each tool runs several times in a fresh process; the table shows median wall
time, median CPU time (user + system of the process and its children), peak
memory, and ratios to orderlint. It also prints the LibCST parse floor: the
CPU time of ``libcst.parse_module`` alone on the files orderlint decides to
parse, the cost any LibCST-based linter pays for those files. TorchFix pins
another libcst, so it runs from its own virtual environment (``--torchfix``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ORDERLINT = [sys.executable, "-m", "orderlint"]


def python_files(tree: Path):
    for root, dirs, files in os.walk(tree):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".py"):
                yield Path(root) / name


def count_lines(tree: Path) -> int:
    return sum(path.read_bytes().count(b"\n") for path in python_files(tree))


# Python byte-compiles a package at install time; an editable install compiles on first import, unless
# PYTHONDONTWRITEBYTECODE is set, in which case every run would compile orderlint anew (0.1 s here).
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def measure(command, cwd: Path, env=ENV):
    """(wall seconds, cpu seconds, peak RSS MiB) of one run of ``command`` in a fresh process."""
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "start = time.perf_counter()\n"
        "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "wall = time.perf_counter() - start\n"
        "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", wrapper, *command], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    wall, cpu, rss = (float(x) for x in out.stdout.split())
    return wall, cpu, rss


def parse_floor(tree: Path) -> tuple:
    """(files, lines, CPU seconds) of parsing with LibCST the files orderlint would parse at all."""
    import libcst

    from orderlint.files import decode
    from orderlint.rules import FAMILIES

    chosen = []
    for path in python_files(tree):
        try:
            source = decode(path.read_bytes())
        except Exception:
            continue
        if any(family.triggered_by(source) for family in FAMILIES):
            chosen.append(source)
    start = time.process_time()
    for source in chosen:
        try:
            libcst.parse_module(source)
        except Exception:
            pass
    return len(chosen), sum(s.count("\n") for s in chosen), time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tree", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--slow-runs", type=int, default=1, help="runs of TorchFix (minutes per run on large trees)")
    parser.add_argument("--torchfix", default=shutil.which("torchfix"), help="TorchFix executable (its own venv)")
    parser.add_argument("--ruff", default=shutil.which("ruff"))
    parser.add_argument("--skip", action="append", default=[], choices=["torchfix", "ruff", "floor"])
    args = parser.parse_args()
    tree = args.tree.resolve()

    cache_home = Path(tempfile.mkdtemp(prefix="orderlint-bench-"))
    cold = [*ORDERLINT, "check", "--select", "ALL", "--preview", "--exit-zero", "--no-cache", str(tree)]
    warm = [*ORDERLINT, "check", "--select", "ALL", "--preview", "--exit-zero", str(tree)]
    tools = {"orderlint": cold}
    if args.torchfix and "torchfix" not in args.skip:
        tools["torchfix"] = [args.torchfix, str(tree)]
    if args.ruff and "ruff" not in args.skip:
        tools["ruff"] = [args.ruff, "check", "--isolated", "--exit-zero", "--no-cache", str(tree)]

    print(f"tree: {tree}  ({count_lines(tree):,} lines of Python)  machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    results = {}
    for name, command in tools.items():
        if name != "torchfix":  # one untimed run: byte-compiled code, the tree in the page cache (TorchFix, minutes
            measure(command, cache_home)  # per run, comes after orderlint's warm-up on the same tree)
        runs = [measure(command, cache_home) for _ in range(args.slow_runs if name == "torchfix" else args.runs)]
        results[name] = tuple(statistics.median(r[i] for r in runs) for i in range(3))
    subprocess.run(warm, cwd=cache_home, stdout=subprocess.DEVNULL, env=ENV)  # fill the cache
    results["orderlint (warm cache)"] = tuple(
        statistics.median(r[i] for r in [measure(warm, cache_home) for _ in range(args.runs)]) for i in range(3))
    shutil.rmtree(cache_home, ignore_errors=True)

    base_wall, base_cpu = results["orderlint"][:2]
    print(f"\n{'tool':<24}{'wall s':>9}{'cpu s':>9}{'peak MiB':>10}{'wall / orderlint':>18}{'cpu / orderlint':>17}")
    for name, (wall, cpu, rss) in results.items():
        print(f"{name:<24}{wall:>9.2f}{cpu:>9.2f}{rss:>10.0f}{wall / base_wall:>18.1f}{cpu / base_cpu:>17.1f}")
    if "floor" not in args.skip:
        files, lines, seconds = parse_floor(tree)
        print(f"\nLibCST parse floor: {files} files, {lines:,} lines the trigger test keeps, {seconds:.2f} s CPU "
              f"(orderlint cold CPU / floor = {base_cpu / seconds:.2f})" if seconds else "\nLibCST parse floor: nothing to parse")


if __name__ == "__main__":
    main()
