"""Freed training memory goes back to the OS (glibc), so RSS tracks live memory."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from w2v_cli.heap import HUGE_PAGE, PAD_FROM, huge_empty, return_freed_memory

CHURN = """
import sys
import numpy as np
from w2v_cli.heap import return_freed_memory

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


@pytest.mark.parametrize(
    "n, dtype", [(300_000, np.int32), (1_000_000, np.int32), (700_000, np.float64), (10, np.int32)]
)
def test_huge_empty_is_an_array_of_that_size_on_a_huge_page_boundary(n, dtype):
    a = huge_empty(n, dtype)
    assert a.shape == (n,) and a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable
    a[:] = 1  # all of it is usable
    if n * a.itemsize >= PAD_FROM:
        assert a.ctypes.data % HUGE_PAGE == 0


FAULTS = """
import resource, sys
import numpy as np
from w2v_cli.heap import huge_empty, return_freed_memory

return_freed_memory()  # every block a fresh mapping, as while training
make = huge_empty if sys.argv[1] == "huge" else np.empty
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    a = make(900_000, np.int32)  # 3.6 MB: below numpy's own 4 MiB threshold for huge pages
    a[:] = 1
    del a
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(script: Path, mode: str) -> int:
    out = subprocess.run([sys.executable, str(script), mode], capture_output=True, text=True, check=True)
    return int(out.stdout)


def thp_mode() -> str:
    try:
        return Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text().split("[")[1].split("]")[0]
    except (OSError, IndexError):
        return "never"


@pytest.mark.skipif(thp_mode() == "never" or not return_freed_memory(), reason="needs Linux transparent huge pages")
def test_huge_empty_faults_its_pages_in_2_mib_at_a_time(tmp_path):
    script = tmp_path / "faults.py"
    script.write_text(FAULTS)
    huge, small = (faults(script, mode) for mode in ("huge", "small"))
    assert small >= 10 * 800  # 4 KiB pages: about 880 a block
    assert huge <= small / 20
