"""Editor latency: linting one training script in-process, and process start-up, separately.

    python bench/latency.py [FILE] [--runs 20]

Without FILE, a script of about 1,000 lines is assembled from the example
project (its modules repeated under new names), with every rule enabled.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "imagenet_classifier"


def thousand_line_script() -> str:
    parts, copy = [], 0
    modules = [EXAMPLES / name for name in ("data.py", "model.py", "train.py")]
    while sum(part.count("\n") for part in parts) < 1000:
        for module in modules:
            text = module.read_text(encoding="utf-8")
            # New names for every definition, so the copies are distinct functions and classes.
            parts.append(re.sub(r"^(def|class) (\w+)", rf"\1 \2_{copy}", text, flags=re.MULTILINE))
        copy += 1
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", nargs="?", type=Path)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    from orderlint.engine import lint_source
    from orderlint.parsing import StatementCache
    from orderlint.rules import ALL_RULES

    source = args.file.read_text(encoding="utf-8") if args.file else thousand_line_script()
    lines = source.count("\n")
    timings = []
    for _ in range(args.runs):
        start = time.perf_counter()
        diagnostics = lint_source(source, "script.py", ALL_RULES)
        timings.append(time.perf_counter() - start)
    print(f"in-process, first lint: {lines} lines, {len(diagnostics)} findings, "
          f"median {statistics.median(timings) * 1000:.0f} ms (min {min(timings) * 1000:.0f} ms) over {args.runs} runs")

    # What the language server does on a keystroke: lint again, with the statements of the previous
    # version parsed already. Each run types into a different line in the middle of the file.
    cache = StatementCache()
    lint_source(source, "script.py", ALL_RULES, cache=cache)
    original = source.splitlines(keepends=True)
    middle = [n for n in range(len(original) // 3, 2 * len(original) // 3) if original[n].startswith("    ")]
    timings = []
    for run in range(args.runs):
        edited = list(original)
        line = middle[run % len(middle)]
        edited[line] = edited[line].rstrip("\n") + f"  # typed {run}\n"
        start = time.perf_counter()
        lint_source("".join(edited), "script.py", ALL_RULES, cache=cache)
        timings.append(time.perf_counter() - start)
    print(f"in-process, after a keystroke (the language server's statement cache): "
          f"median {statistics.median(timings) * 1000:.0f} ms (min {min(timings) * 1000:.0f} ms) over {args.runs} runs")

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "script.py"
        path.write_text(source, encoding="utf-8")
        for label, command in (("start-up (--version)", ["--version"]),
                               ("whole command on the file", ["check", "--no-cache", "--exit-zero", str(path)])):
            runs = []
            for _ in range(5):
                start = time.perf_counter()
                subprocess.run([sys.executable, "-m", "orderlint", *command], capture_output=True, check=False)
                runs.append(time.perf_counter() - start)
            print(f"{label}: median {statistics.median(runs) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
