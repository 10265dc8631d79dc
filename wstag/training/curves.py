"""A run's validation curve, read back from the CSV logs Lightning wrote for it.

Rows stop after a fixed number of epochs on a CPU; whether a row's monitored metric
was still rising when it stopped tells an undertrained row from a converged one.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path


def validation_curve(run_dir: Path, metric: str) -> list[float]:
    """``metric`` at each validated epoch, in order (NaN where an epoch lacks it).

    A resumed run writes a new ``logs/version_N``; later versions override the epochs
    they repeat. An empty list when the run left no logs (e.g. trained elsewhere).
    """
    by_epoch: dict[int, float] = {}
    versions = sorted(Path(run_dir).glob("logs/version_*/metrics.csv"),
                      key=lambda p: int(p.parent.name.split("_")[-1]))
    for path in versions:
        with path.open(newline="") as fh:
            for record in csv.DictReader(fh):
                if record.get(metric) and record.get("epoch"):
                    by_epoch[int(record["epoch"])] = float(record[metric])
    if not by_epoch:
        return []
    return [by_epoch.get(e, math.nan) for e in range(max(by_epoch) + 1)]
