"""The benchmark's corpus preparation: what gensim and w2v both read."""

import gzip
import statistics
import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from peer import prepare_corpus, timed  # noqa: E402


def test_prepared_lines_hold_at_most_max_words_and_keep_every_word(tmp_path):
    src = tmp_path / "src.txt.gz"
    text = " ".join(f"w{i}" for i in range(25)) + "\nshort line\n" + " ".join("x" * 3 for _ in range(7))
    src.write_bytes(gzip.compress(text.encode()))
    dst = tmp_path / "corpus.txt"
    assert prepare_corpus(src, dst, max_words=10) == 25 + 2 + 7
    lines = dst.read_text().splitlines()
    assert [len(line.split()) for line in lines] == [10, 10, 5, 2, 7]
    assert " ".join(lines).split() == text.split()


def test_preparation_is_reused_only_for_the_same_source(tmp_path):
    src = tmp_path / "a.txt"
    src.write_text("a b c\n")
    dst = tmp_path / "corpus.txt"
    prepare_corpus(src, dst)
    dst.write_text("marker\n")  # a reused file keeps the marker
    assert prepare_corpus(src, dst) == 3 and dst.read_text() == "marker\n"
    src.write_text("a b c d e\n")  # a changed source is prepared again
    assert prepare_corpus(src, dst) == 5 and dst.read_text() == "a b c d e\n"


def test_throughput_ratio_is_n_times_one_over_the_mean():
    from machine import throughput_ratio

    assert throughput_ratio(1.0, [1.25, 1.25]) == 1.6  # 2 units of work in 1.25 s against 1 in 1 s
    assert throughput_ratio(2.0, [1.0, 3.0]) == 2.0


def test_machine_reference_runs_every_kind_of_work_in_processes():
    from machine import describe, reference

    ratios = reference(workers=2, rounds=3, scale=0.02)
    assert set(ratios) == {"gather", "matmul", "numpy-step"}
    # 2 processes do more than a quarter of 1's work and less than twice 2's (a wrong unit would be far off);
    # tighter bounds would fail on a busy machine at this tiny scale. The median of 3 rounds, as machine.py
    # reports it: one round's gather ratio once came out at 4.02 on this machine.
    assert all(len(row) == 3 and 0.25 < statistics.median(row) < 4.0 for row in ratios.values()), ratios
    assert "numpy-step" in describe(ratios, 2)


def test_usage_counts_the_cpu_of_child_processes():
    import subprocess

    from scaling import Usage

    with Usage() as use:
        subprocess.run([sys.executable, "-c", "sum(range(5_000_000))"], check=True)
    assert 0 < use.cpu <= use.wall * 1.2  # one busy thread: CPU about wall time, never twice it
    with Usage() as sleepy:
        subprocess.run([sys.executable, "-c", "import time\nfor _ in range(100): time.sleep(0.001)"], check=True)
    assert sleepy.waits >= 100 > use.waits  # each sleep is a voluntary switch; a busy loop makes few


def test_where_time_goes_reports_cpu_against_the_base_busy_cores_and_waits():
    from types import SimpleNamespace

    from scaling import where_time_goes

    runs = [SimpleNamespace(cpu=11.0, wall=6.0, waits=50), SimpleNamespace(cpu=12.0, wall=5.0, waits=70)]
    line = where_time_goes("2 workers", runs, base_cpu=10.0, words=20_000)
    assert "CPU 1.15x" in line  # median 11.5 s against 10 s
    assert "busy 2.12 cores" in line  # median of 1.83 and 2.40
    assert "waits 3.00 per 1,000 words" in line  # median 60 over 20,000 words


FORKED_80_MIB_EACH = """
import os, time
pid = os.fork()
block = b"x" * (80 << 20)  # parent and child each fill 80 MiB of their own, at the same time
time.sleep(2.5)
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
"""


def test_peak_memory_counts_forked_workers_alongside_their_parent():
    """RSS alone would see one process's 80 MiB; the process tree holds twice that."""
    wall, peak = timed([sys.executable, "-c", FORKED_80_MIB_EACH])
    assert wall >= 2.5 and 160 <= peak < 260


def test_roofline_counts_each_centers_context_and_flops(monkeypatch):
    """Window sizes against a direct count; flops per center from the module's formulas."""
    import numpy as np

    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):  # roofline sets them for its own process
        monkeypatch.setenv(var, "1")
    from roofline import DIM, flops_per_center, window_sizes

    radius = np.random.default_rng(0).integers(1, 6, 50)
    direct = [sum(1 for j in range(50) if j != i and abs(j - i) <= r) for i, r in enumerate(radius)]
    assert window_sizes(radius).tolist() == direct
    m, L = np.array([6.0]), np.array([12.0])
    assert flops_per_center("skipgram", "neg", m, L) == 2 * DIM * (3 * 6 * 6 + 6)
    assert flops_per_center("cbow", "hs", m, L) == 2 * DIM * (3 * 12 + 2 * 6)
