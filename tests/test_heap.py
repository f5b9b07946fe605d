"""Freed training memory goes back to the OS (glibc), so RSS tracks live memory."""

import subprocess
import sys
from pathlib import Path

import pytest

from w2v_cli.engines.heap import return_freed_memory

CHURN = """
import sys
import numpy as np
from w2v_cli.engines.heap import return_freed_memory

def rss_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) // 1024

if sys.argv[1] == "fixed":
    assert return_freed_memory()
base = rss_mib()
big = np.ones(64 << 18, np.float32)  # 64 MiB, freed: glibc would raise its mmap threshold
del big
live = []
for _ in range(8):  # free and allocate like segments and jobs do; 32 MiB stay live
    blocks = [np.ones(4 << 18, np.float32) for _ in range(4)]
    live.append(np.ones(10))
    live.append(blocks[-1])
    del blocks[:3], blocks
print(rss_mib() - base)
"""


def grown_mib(tmp_path: Path, mode: str) -> int:
    script = tmp_path / "churn.py"
    script.write_text(CHURN)
    out = subprocess.run([sys.executable, str(script), mode], capture_output=True, text=True, check=True)
    return int(out.stdout)


@pytest.mark.skipif(not Path("/proc/self/status").exists() or not return_freed_memory(), reason="glibc/Linux only")
def test_freed_blocks_leave_rss(tmp_path):
    fixed, default = grown_mib(tmp_path, "fixed"), grown_mib(tmp_path, "default")
    assert fixed <= 32 + 8  # only the live blocks
    assert default > fixed + 8  # and the fix is what makes the difference
