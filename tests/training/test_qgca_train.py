"""Table V's two QGCA configs train through ``wstag.training.run.train`` and load back (seconds).

A corpus of a dozen generated 2 s clips (tones, AudioGrounding v2 labels) stands in for
the benchmark: the point is the wiring (sampling, datasets, regimes, export), not learning.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf
import torch

from tests.inference.tiny import tone_clip
from wstag.models.checkpoint import load_model
from wstag.training.config import load_experiment
from wstag.training.run import train

pytestmark = pytest.mark.slow  # two short trainings, spaCy and MiniLM loaded: about ten seconds

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
CAPTIONS = [("a dog barks while rain falls", [("a dog barks", 0, 2), ("rain falls", 4, 5)]),
            ("a man speaks and birds chirp", [("a man speaks", 0, 2), ("birds chirp", 4, 5)]),
            ("a siren wails", [("a siren wails", 0, 2)])]


@pytest.fixture(autouse=True)
def _threads():
    """``training.threads`` sets torch's for the process: give the other tests theirs back."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def _corpus(folder: Path) -> Path:
    for split, n in (("train", 9), ("val", 3)):
        (folder / split / "audio").mkdir(parents=True)
        rows = []
        for i in range(n):
            caption, phrases = CAPTIONS[i % len(CAPTIONS)]
            name = f"{split}_{i}.wav"
            sf.write(folder / split / "audio" / name, tone_clip(2.0, seed=i), 32000)
            rows.append({"audio_id": name, "caption": caption, "tokens": caption,
                         "phrases": [{"phrase": p, "start_index": s, "end_index": e, "segments": [[0.5, 1.5]]}
                                     for p, s, e in phrases]})
        (folder / split / "labels.json").write_text(json.dumps(rows))
        for row in rows:
            for p in row["phrases"]:
                del p["segments"]
        (folder / split / "weak.json").write_text(json.dumps(rows))
    return folder


@pytest.mark.parametrize("config,extra", [
    ("qgca_sstag", []),
    ("qgca_wstag", ["training.n_phrases=4", "sampling.n_clusters=3"]),
])
def test_a_qgca_config_trains_and_exports_a_qgca_model(tmp_path, config, extra):
    overrides = ["model.preset=cpu_fast", "training.batch_size=4", "training.max_epochs=1", "training.threads=1",
                 *extra]
    cfg = load_experiment(CONFIGS / f"{config}.yaml", overrides)
    result = train(cfg, _corpus(tmp_path / "corpus"), tmp_path / "run", enable_progress_bar=False)
    model, vocab, saved = load_model(result.model_dir)
    assert not model.scores_by_dot_product and len(vocab) > 3
    assert saved["model"]["interaction"]["kind"] == "cross_gating"
    assert saved["model"]["text_encoder"]["kind"] == "graph"
    assert result.best_score is not None
