"""A run's validation curve from Lightning's CSV logs, resumed runs included."""

import math

from wstag.training.curves import validation_curve


def _log(path, text):
    path.parent.mkdir(parents=True)
    path.write_text(text)


def test_a_resumed_run_joins_its_log_versions_and_the_later_one_wins(tmp_path):
    # Lightning's layout: a training-loss line per step, then a validation line per epoch.
    _log(tmp_path / "logs" / "version_0" / "metrics.csv",
         "epoch,step,train/loss,val/loss,val/tag_auc\n"
         "0,9,0.7,,\n0,9,,0.69,0.51\n1,19,,0.68,0.55\n2,29,,0.67,0.58\n")
    # cut during epoch 2 after its row was logged but before its checkpoint: epoch 2 runs again
    _log(tmp_path / "logs" / "version_1" / "metrics.csv",
         "epoch,step,val/loss,val/tag_auc\n2,29,0.66,0.60\n3,39,0.65,0.62\n")
    assert validation_curve(tmp_path, "val/tag_auc") == [0.51, 0.55, 0.60, 0.62]
    assert validation_curve(tmp_path, "val/loss") == [0.69, 0.68, 0.66, 0.65]


def test_version_10_comes_after_version_9_and_gaps_are_nan(tmp_path):
    _log(tmp_path / "logs" / "version_9" / "metrics.csv", "epoch,val/loss\n0,1.0\n2,3.0\n")
    _log(tmp_path / "logs" / "version_10" / "metrics.csv", "epoch,val/loss\n2,2.0\n")
    curve = validation_curve(tmp_path, "val/loss")
    assert curve[0] == 1.0 and math.isnan(curve[1]) and curve[2] == 2.0


def test_a_run_without_logs_has_no_curve(tmp_path):
    assert validation_curve(tmp_path, "val/loss") == []
