"""The key paths with the compiled kernel hidden, as on a machine without a C compiler.

`pip install .` still succeeds there, and the README promises that training,
queries and gradcheck work with the numpy engine and the Python scanner.
"""

import pytest
from conftest import DEFAULT_DIR

from w2v_cli import native
from w2v_cli.cli import main


@pytest.fixture
def no_kernel(monkeypatch):
    monkeypatch.setattr(native, "load", lambda: None)
    assert not native.available()


def test_train_similar_evaluate_and_gradcheck_work_without_the_kernel(no_kernel, runner, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(main, ["train", str(DEFAULT_DIR / "default.txt"), "-o", str(out), "--epochs", "3"])
    assert result.exit_code == 0, result.output
    assert "compiled kernel is not installed" in result.stderr and "engine numpy" in result.output
    result = runner.invoke(main, ["similar", str(out), "king", "-", "man", "+", "woman", "-k", "3"])
    assert result.exit_code == 0 and "queen" in result.output
    result = runner.invoke(main, ["evaluate", str(out), "-a", str(DEFAULT_DIR / "analogies.txt"), "--json"])
    assert result.exit_code == 0 and '"accuracy"' in result.output
    result = runner.invoke(main, ["gradcheck"])
    assert result.exit_code == 0 and "kernel-neg" not in result.output and "checks passed" in result.output


def test_engine_c_and_the_kernel_check_say_what_is_missing(no_kernel, runner, tmp_path):
    result = runner.invoke(main, ["train", str(DEFAULT_DIR / "default.txt"), "-o", str(tmp_path), "--engine", "c"])
    assert result.exit_code == 1 and "engine 'c' is not installed" in result.stderr
    result = runner.invoke(main, ["gradcheck", "--check", "kernel-neg"])
    assert result.exit_code == 1 and "unknown check 'kernel-neg'" in result.stderr
