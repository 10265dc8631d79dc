"""The shared Lightning fit helper: last.ckpt follows every epoch, best follows the monitor."""

import os
import time
from types import SimpleNamespace

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from wstag.training.fit import fit

#: a trainer's strategy in one process: its own verdict is everybody's
_ONE_PROCESS = SimpleNamespace(reduce_boolean_decision=lambda decision, all=True: decision)


class _Drifting(L.LightningModule):
    """A linear model whose logged validation metric is the epoch number."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Linear(2, 1)

    def training_step(self, batch, batch_idx):
        (x,) = batch
        return self.w(x).pow(2).mean()

    def validation_step(self, batch, batch_idx):
        self.log("val/loss", float(self.current_epoch))
        self.log("val/tag_auc", float(self.current_epoch))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _loader():
    return DataLoader(TensorDataset(torch.randn(8, 2)), batch_size=4)


def _epoch(path):
    return torch.load(path, map_location="cpu", weights_only=False)["epoch"]


def test_last_checkpoint_follows_every_epoch_even_when_the_best_is_old(tmp_path):
    result = fit(_Drifting(), _loader(), _loader(), tmp_path, max_epochs=3, max_minutes=None,
                 early_stop_patience=10, enable_progress_bar=False)
    ckpts = tmp_path / "checkpoints"
    assert _epoch(ckpts / "best.ckpt") == 0 and result.best_score == 0.0  # val/loss only rose
    assert _epoch(ckpts / "last.ckpt") == 2  # a resume continues after epoch 2, not 0


def test_a_metric_to_maximise_picks_the_latest_epoch(tmp_path):
    result = fit(_Drifting(), _loader(), _loader(), tmp_path, max_epochs=3, max_minutes=None,
                 early_stop_patience=10, enable_progress_bar=False, monitor="val/tag_auc")
    assert _epoch(tmp_path / "checkpoints" / "best.ckpt") == 2 and result.best_score == 2.0


class _Climbing(L.LightningModule):
    """w rises by exactly 1 per SGD step (loss -w, lr 1): the raw weight counts the steps."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(()))

    def training_step(self, batch, batch_idx):
        return -self.w

    def validation_step(self, batch, batch_idx):
        self.log("val/loss", -self.w.detach())

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=1.0)


def test_ema_weights_are_validated_saved_and_returned(tmp_path):
    module = _Climbing()
    fit(module, _loader(), _loader(), tmp_path, max_epochs=1, max_minutes=None, early_stop_patience=10,
        enable_progress_bar=False, ema_decay=0.5)
    # two steps: raw w = 2; the average starts as a copy (1), then 0.5 * 1 + 0.5 * 2
    assert module.w.item() == pytest.approx(1.5)
    state = torch.load(tmp_path / "checkpoints" / "best.ckpt", map_location="cpu", weights_only=False)
    assert state["state_dict"]["w"].item() == pytest.approx(1.5)


def test_the_budget_stops_before_an_epoch_that_would_overrun():
    from types import SimpleNamespace

    from wstag.training.fit import WholeEpochBudget

    now = [0.0]
    budget = WholeEpochBudget(100.0, clock=lambda: now[0])
    trainer = SimpleNamespace(should_stop=False, strategy=_ONE_PROCESS)
    budget.on_train_start(trainer, None)
    for t in (40.0, 60.0):  # a slow first epoch (40 s), then 20 s: 60 + 20 <= 100, go on
        now[0] = t
        budget.on_train_epoch_end(trainer, None)
    assert not trainer.should_stop and budget.expected_epoch == 20.0  # the first epoch is not counted
    now[0] = 85.0  # a 25 s epoch; another one would end at 110 > 100
    budget.on_train_epoch_end(trainer, None)
    assert trainer.should_stop and budget.expected_epoch == 25.0


def test_a_resumed_run_spends_only_what_is_left_of_the_budget():
    from types import SimpleNamespace

    from wstag.training.fit import WholeEpochBudget

    now = [0.0]
    first = WholeEpochBudget(100.0, clock=lambda: now[0])
    first.on_train_start(SimpleNamespace(should_stop=False, strategy=_ONE_PROCESS), None)
    for t in (30.0, 50.0):
        now[0] = t
        first.on_train_epoch_end(SimpleNamespace(should_stop=False, strategy=_ONE_PROCESS), None)
    now[0] = 55.0  # interrupted mid-epoch after the checkpoint of epoch 2 ...
    state = first.state_dict()
    assert state == {"spent": 55.0, "epoch_seconds": [30.0, 20.0]}

    now[0] = 1000.0  # ... and resumed later
    resumed = WholeEpochBudget(100.0, clock=lambda: now[0])
    resumed.load_state_dict(state)
    trainer = SimpleNamespace(should_stop=False, strategy=_ONE_PROCESS)
    resumed.on_train_start(trainer, None)
    now[0] = 1020.0  # 75 s spent; another 20 s epoch ends at 95: go on
    resumed.on_train_epoch_end(trainer, None)
    assert not trainer.should_stop and resumed.spent() == 75.0
    now[0] = 1040.0  # 95 s spent: no room for another epoch
    resumed.on_train_epoch_end(trainer, None)
    assert trainer.should_stop


def test_the_budget_judges_by_the_first_epoch_until_there_is_a_second():
    from types import SimpleNamespace

    from wstag.training.fit import WholeEpochBudget

    now = [0.0]
    budget = WholeEpochBudget(100.0, clock=lambda: now[0])
    trainer = SimpleNamespace(should_stop=False, strategy=_ONE_PROCESS)
    budget.on_train_start(trainer, None)
    now[0] = 55.0  # 55 + 55 > 100
    budget.on_train_epoch_end(trainer, None)
    assert trainer.should_stop


class _Slow(_Drifting):
    """Each training step takes 0.1 s, so the training time has a known floor."""

    def training_step(self, batch, batch_idx):
        time.sleep(0.1)
        return super().training_step(batch, batch_idx)


def test_a_resumed_fit_reports_the_training_time_of_every_session(tmp_path):
    first = fit(_Slow(), _loader(), _loader(), tmp_path, max_epochs=2, max_minutes=None,
                early_stop_patience=10, enable_progress_bar=False)
    assert first.seconds >= 0.4  # 2 epochs of 2 steps
    resumed = fit(_Slow(), _loader(), _loader(), tmp_path, max_epochs=3, max_minutes=None,
                  early_stop_patience=10, enable_progress_bar=False)
    assert resumed.epochs == 3 and 0.4 <= resumed.earlier_seconds <= first.seconds  # saved after epoch 2
    # the first session's time as saved after epoch 2 (its end-of-fit overhead is not saved), plus the
    # third epoch's 2 steps: a bound that holds on a loaded machine too
    assert resumed.seconds >= resumed.earlier_seconds + 0.2
    finished = fit(_Slow(), _loader(), _loader(), tmp_path, max_epochs=3, max_minutes=None,
                   early_stop_patience=10, enable_progress_bar=False)
    assert finished.seconds == pytest.approx(resumed.seconds, abs=1.0)  # nothing left to train, nothing added
    assert finished.earlier_seconds == pytest.approx(finished.seconds, abs=1.0)


def test_the_training_clock_counts_nothing_before_training_starts():
    from wstag.training.fit import TrainingClock

    now = [100.0]
    clock = TrainingClock(clock=lambda: now[0])
    clock.load_state_dict({"spent": 42.0})
    now[0] = 500.0
    assert clock.spent() == 42.0  # a finished run resumed never calls on_train_start
    clock.on_train_start(None, None)
    now[0] = 510.0
    assert clock.spent() == 52.0 and clock.state_dict() == {"spent": 52.0}


class _Payload:
    """Unpickling this runs code: what a checkpoint copied from a stranger could hold."""

    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_resuming_refuses_a_checkpoint_that_would_run_code(tmp_path, monkeypatch):
    from wstag.errors import ConfigError

    monkeypatch.chdir(tmp_path)
    fit(_Slow(), _loader(), _loader(), tmp_path, max_epochs=1, max_minutes=None, early_stop_patience=10,
        enable_progress_bar=False)
    last = tmp_path / "checkpoints" / "last.ckpt"
    state = torch.load(last, weights_only=True)  # what this package writes loads weights-only
    state["callbacks"]["evil"] = _Payload()
    torch.save(state, last)
    with pytest.raises(ConfigError, match="refused to resume"):
        fit(_Slow(), _loader(), _loader(), tmp_path, max_epochs=2, max_minutes=None, early_stop_patience=10,
            enable_progress_bar=False)
    assert not (tmp_path / "PWNED").exists()
