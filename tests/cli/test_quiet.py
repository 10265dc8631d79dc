"""A quiet terminal: `wstag train` prints its bars and figures, not the dependencies' chatter."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings

import pytest

from wstag.logs import CHATTY_LOGGERS, quiet_terminal

#: What a first run printed before wstag.logs (Lightning 2.6, torch 2.13), and must not now.
NOISE = (
    "💡 Tip", "litlogger", "litmodels", "GPU available", "TPU available", "HPU available", "LOCAL_RANK",
    "does not have many workers", "num_workers", "Checkpoint directory", "exists and is not empty",
    "is deprecated", "DeprecationWarning", "FutureWarning", "pkg_resources", "smaller than the logging interval",
    "`Trainer.fit` stopped", "Warning",
)

# The real entry point, on a machine with 16 cores: Lightning's worker warning needs more
# than two (this machine may have two), so the patch makes it fire as it does for users.
_ENTRY = (
    "import sys; import lightning.fabric.utilities.data as d; d._num_cpus_available = lambda: 16; "
    "from wstag.cli.main import app; sys.argv[0] = 'wstag'; app()"
)


@pytest.mark.slow
def test_train_prints_no_tips_hardware_lines_or_dependency_warnings(tiny_corpus, tmp_path):
    out = tmp_path / "run"
    (out / "checkpoints").mkdir(parents=True)
    (out / "checkpoints" / "notes.txt").write_text("a non-empty checkpoint folder, as on a resumed run")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}  # .ci/run hides UserWarnings
    res = subprocess.run(
        [sys.executable, "-c", _ENTRY, "train", "configs/phrase_random_cpu.yaml", "--data", str(tiny_corpus),
         "--out", str(out), "--max-epochs", "1"],
        capture_output=True, text=True, env=env, timeout=900,
    )
    assert res.returncode == 0, res.stderr
    assert "model folder:" in res.stdout and "epochs 1," in res.stdout
    assert "[train phrase_random_cpu] done in" in res.stderr
    printed = res.stdout + res.stderr
    assert [s for s in NOISE if s in printed] == [], res.stderr


def _shown(emit) -> list[str]:
    """Messages that reach the user after quiet_terminal(), with Python's default filters."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()
        warnings.simplefilter("default")
        quiet_terminal()
        emit()
    return [str(w.message) for w in caught]


def test_own_warnings_still_show_even_with_the_same_words():
    def emit() -> None:
        warnings.warn("a.wav: the recording is silent; every phrase will get low probabilities", UserWarning)
        for module in ("lightning.pytorch.callbacks.model_checkpoint", "wstag.training.fit"):
            warnings.warn_explicit("Checkpoint directory /r exists and is not empty.", UserWarning,
                                   f"{module}.py", 1, module=module)
        warnings.warn_explicit("`isinstance(treespec, LeafSpec)` is deprecated, use ...", FutureWarning,
                               "_pytree.py", 21, module="lightning.pytorch.utilities._pytree")
        warnings.warn("pkg_resources is deprecated as an API.", UserWarning)
        warnings.warn("wstag.x is deprecated; use y", DeprecationWarning)  # any other deprecation: kept

    assert _shown(emit) == [
        "a.wav: the recording is silent; every phrase will get low probabilities",
        "Checkpoint directory /r exists and is not empty.",  # from wstag's own module: kept
        "wstag.x is deprecated; use y",
    ]


def test_lightning_info_lines_are_off_and_its_warnings_on():
    import lightning.pytorch  # noqa: F401 - sets its own logger to INFO on import
    from lightning.pytorch.accelerators import cuda
    from lightning_utilities.core import rank_zero

    quiet_terminal()
    assert rank_zero.log.name in CHATTY_LOGGERS and cuda._log.name in CHATTY_LOGGERS
    for log in (rank_zero.log, cuda._log):
        assert not log.isEnabledFor(logging.INFO) and log.isEnabledFor(logging.WARNING)
    assert logging.getLogger("lightning.pytorch").isEnabledFor(logging.INFO)  # only the chatty children
