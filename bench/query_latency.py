"""End-to-end latency of `w2v similar MODEL WORD`, as a user sees it (process start included).

    python bench/query_latency.py MODEL [WORD] [--runs 7]

Prints the median and the spread of the wall time over --runs fresh processes.
The target (issue 4): under 0.5 s on a 70k-word, 100-d model.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("word", nargs="?", default="france")
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()
    cmd = [sys.executable, "-m", "w2v_cli", "similar", a.model, a.word, "-k", "10"]
    subprocess.run(cmd, check=True, capture_output=True)  # warm the page cache once
    times = []
    for _ in range(a.runs):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    print(
        f"w2v similar {a.model} {a.word}: median {statistics.median(times):.3f} s "
        f"(min {min(times):.3f}, max {max(times):.3f}, {a.runs} runs)"
    )


if __name__ == "__main__":
    main()
