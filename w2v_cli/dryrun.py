"""`w2v train --dry-run`: the vocabulary pass and a few seconds of real training, and what the run would need.

Nothing is written: the id file has no name, and it lives in the output
directory's nearest existing parent. The report holds the vocabulary pass's
findings, the model's memory, the disk the outputs need, a measured training
speed and the time it predicts, and `problems`: the preflight errors that the
real run would stop at.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from w2v_cli import preflight
from w2v_cli.config import TrainConfig, worker_count
from w2v_cli.corpus import expand_paths
from w2v_cli.engines import engine_class, resolve_engine
from w2v_cli.errors import W2VError
from w2v_cli.pipeline import check_eval_files, count_vocabulary, scan_metrics
from w2v_cli.progress import Progress
from w2v_cli.scan import IdFile
from w2v_cli.training import measure_speed


def dry_run(cfg: TrainConfig, progress: Progress | None = None, seconds: float = 3.0) -> dict:
    """The vocabulary pass and a few seconds of real training steps; what the run would need and take.

    Writes nothing: the id file is unnamed and lives in the output directory's
    nearest existing parent. Returns the report `display.dry_run_lines` shows,
    with `problems`: the preflight errors the real run would stop at.
    """
    progress = progress or Progress()
    files = expand_paths(cfg.corpus)
    check_eval_files(cfg)
    where = Path(cfg.output).absolute()
    while not where.exists():
        where = where.parent
    problems = _problems(lambda: preflight.check_id_disk(files, where))
    engine_name = resolve_engine(cfg, progress.note)
    ids = IdFile(where)
    try:
        counted = count_vocabulary(cfg, files, ids, progress)
        vocab = counted.vocab
        workers = worker_count(cfg)
        scratch = engine_class(engine_name).scratch_bytes(cfg, len(vocab))
        problems += _problems(lambda: preflight.check_model_memory(cfg, scratch, len(vocab), workers))
        problems += _problems(lambda: preflight.check_output_disk(vocab.words, cfg.dim, where))
        speed = measure_speed(cfg, engine_name, counted, ids, seconds) if not problems else None
    finally:
        ids.close()
    return {
        **scan_metrics(counted),
        "engine": engine_name,
        "workers": workers,
        "vocab_seconds": round(counted.seconds, 3),
        "model_bytes": preflight.model_bytes(cfg, scratch, len(vocab), workers),
        "memory_available": preflight.available_memory(),
        "output_bytes": preflight.output_bytes(vocab.words, cfg.dim),
        "id_file_bytes": 4 * (counted.scan.tokens + counted.scan.counts.size),
        "disk_free": preflight.free_disk(where),
        "words_per_second": round(speed) if speed else None,
        "train_seconds_estimate": round(cfg.epochs * counted.train_words / speed, 1) if speed else None,
        "problems": problems,
    }


def _problems(check: Callable[[], None]) -> list[str]:
    """[the check's error message], or [] if it passes."""
    try:
        check()
    except W2VError as e:
        return [str(e)]
    return []
