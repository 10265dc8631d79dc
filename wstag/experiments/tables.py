"""`wstag table`: run any list of configs on one corpus and tabulate them (ad hoc).

The paper's tables and figures, with seeds, budgets and the published figures, are
``wstag.experiments.groups`` (`wstag experiments GROUP`); this is for quick comparisons.

Each row trains a model (resuming an interrupted run) and evaluates it on the test
split; the table lists PSDS and Th-AUC (whole and short), the controls and the
training time, the way Tables II-IV report them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable, Sequence

from wstag.files import write_json
from wstag.inference.evaluate import evaluate_model
from wstag.training.config import load_experiment
from wstag.training.run import train

COLUMNS = ("psds_whole", "th_auc_whole", "psds_short", "th_auc_short", "psds_whole_wrong_query", "specificity")


def run_rows(
    configs: Sequence[Path], data: Path, out: Path, overrides: Sequence[str] = (),
    log: Callable[[str], None] | None = None, progress: Callable | None = None,
) -> list[dict]:
    """Train and evaluate each config; reuse rows whose metrics already exist."""
    say = log or (lambda m: None)
    rows = []
    for path in configs:
        cfg = load_experiment(path, list(overrides))
        run_dir = Path(out) / cfg.name
        done = run_dir / "row.json"
        if done.is_file():
            rows.append(json.loads(done.read_text()))
            say(f"[{cfg.name}] reused")
            continue
        start = time.perf_counter()
        result = train(cfg, data, run_dir, progress=progress, log=say, enable_progress_bar=progress is not None)
        metrics = evaluate_model(result.model_dir, data, "test", progress=progress)
        row = {"row": cfg.name, "config": str(path), "overrides": list(overrides), "epochs": result.epochs,
               "train_seconds": round(result.seconds, 1), "total_seconds": round(time.perf_counter() - start, 1),
               **{k: metrics[k] for k in COLUMNS + ("psds_whole_loudness",)}}
        write_json(done, row)
        say(f"[{cfg.name}] " + ", ".join(f"{k} {row[k]}" for k in COLUMNS) + f", {row['train_seconds']:.0f} s")
        rows.append(row)
    return rows


def markdown_table(rows: Sequence[dict]) -> str:
    head = "| row | " + " | ".join(COLUMNS) + " | epochs | train s |"
    sep = "|---" * (len(COLUMNS) + 3) + "|"
    body = [f"| {r['row']} | " + " | ".join(f"{r[k]:.1f}" for k in COLUMNS) + f" | {r['epochs']} | {r['train_seconds']:.0f} |"
            for r in rows]
    return "\n".join([head, sep, *body]) + "\n"
