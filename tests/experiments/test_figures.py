"""Figs. 4, 11, 12, 13 on tiny hand-built corpora with fake embedders (no SBERT, no CLAP)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.sampling.fake_embeddings import AXIS, CLASS_OF, WORDINGS, fake_embed, write_corpus  # noqa: F401
from wstag.experiments import figures as F

# --------------------------------------------------------------------------- corpora




# Tiny corpus: 4 texts with hand-set vectors, so every pair's cosine is known.
VECTORS = {
    "a dog barks": (1.0, 0.0, 0.0),
    "dogs bark": (0.8, 0.6, 0.0),  # cos 0.8 with "a dog barks" (same class)
    "a car passes": (0.6, 0.8, 0.0),  # cos 0.6 with "a dog barks", 0.96 with "dogs bark"
    "rain falls": (0.0, 0.0, 1.0),  # cos 0 with all
}
TINY_CLASS = {"a dog barks": "dog", "dogs bark": "dog", "a car passes": "car", "rain falls": "rain"}
TINY_CLIPS = [
    (["a dog barks", "a car passes"], ["dog", "car", "rain"]),
    (["dogs bark", "rain falls"], ["dog", "rain"]),
    (["a dog barks", "rain falls", "a car passes"], ["dog", "rain", "car"]),
    (["a car passes"], ["car", "bird"]),  # bird: audible, never captioned
]
# occurrences: a dog barks 2, dogs bark 1, a car passes 3, rain falls 2


def tiny_embed(texts):
    return np.array([VECTORS[t] for t in texts], dtype=np.float32).reshape(len(texts), 3)


# Larger corpus: 5 classes x 2 wordings; a class's wordings have cosine 0.923, other classes 0.
class_embed = fake_embed


def five_class_clips() -> list[tuple[list[str], list[str]]]:
    rng = np.random.default_rng(0)
    names = list(WORDINGS)
    clips = [(["a dog barks", "a car passes", "rain falls"], ["dog", "car", "rain", "bird"])]  # bird uncaptioned
    for _ in range(40):
        chosen = rng.choice(names, size=2, replace=False)
        clips.append(([WORDINGS[c][rng.integers(2)] for c in chosen], list(chosen)))
    return clips


@pytest.fixture()
def tiny(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "tiny", TINY_CLIPS, TINY_CLASS)


@pytest.fixture()
def five(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "five", five_class_clips(), CLASS_OF)


# --------------------------------------------------------------------------- Fig. 4


def test_fig4_counts_by_hand(tiny: Path, tmp_path: Path):
    out = tmp_path / "out"
    fig = F.fig4(tiny, out)
    assert fig.png == out / "fig4.png" and fig.png.stat().st_size > 1000
    data = json.loads(fig.json.read_text())
    # dog: 2 + 1, car: 3, rain: 2, bird: 0 (audible in clip 3, never captioned); ties by name
    assert [(c["class"], c["occurrences"], c["distinct_phrases"]) for c in data["classes"]] == [
        ("car", 3, 1), ("dog", 3, 2), ("rain", 2, 1), ("bird", 0, 0)]
    assert data["phrases"] == 8 and data["phrases_without_class"] == 0 and data["n_classes"] == 4
    assert data["max"] == {"class": "car", "occurrences": 3} and data["min"] == {"class": "bird", "occurrences": 0}
    assert data["median"] == 2.5 and data["classes_without_phrases"] == 1
    assert data["max_min_ratio"] == 1.5  # car 3 / rain 2: over classes with phrases
    assert "car" in fig.markdown and "*Paper:*" in fig.markdown and fig.holds in (True, False)


def test_gini_and_elbow():
    assert F._gini(np.array([5, 5, 5])) == pytest.approx(0.0)
    assert F._gini(np.array([0, 0, 0, 12])) == pytest.approx(0.75)
    # a sharp bend at x = 3
    assert F.elbow([1, 2, 3, 4, 5, 6], [100, 50, 10, 8, 6, 4]) == 3


# --------------------------------------------------------------------------- Fig. 11


def test_fig11_inertia_decreases_and_purity_is_perfect_at_the_class_number(five: Path, tmp_path: Path):
    fig = F.fig11(five, tmp_path / "out", {"fake": class_embed}, n_clusters=(2, 3, 5, 8, 50))
    data = json.loads(fig.json.read_text())
    assert data["n_clusters"] == [2, 3, 5, 8] and data["skipped_n_clusters"] == [50]  # 10 distinct texts
    rows = data["embeddings"]["fake"]["rows"]
    inertia = [r["inertia"] for r in rows]
    assert all(b < a for a, b in zip(inertia, inertia[1:]))
    assert data["embeddings"]["fake"]["inertia_decreasing"] and fig.holds is True
    at5 = next(r for r in rows if r["n_clusters"] == 5)
    assert at5["purity"] == pytest.approx(1.0) and at5["ari"] == pytest.approx(1.0)
    assert rows[0]["purity"] < 1.0  # 2 clusters must merge classes
    assert fig.png.is_file() and data["n_classes"] == 5


# --------------------------------------------------------------------------- Fig. 12


def test_pair_shares_by_hand(tiny: Path, tmp_path: Path):
    fig = F.fig12(tiny, tmp_path / "out", {"fake": tiny_embed}, weighting="distinct")
    r = json.loads(fig.json.read_text())["embeddings"]["fake"]
    # different-class pairs: 0.6, 0.96, 0, 0, 0; same-class: 0.8
    assert r["different"]["pairs"] == 5 and r["same"]["pairs"] == 1
    assert r["different"]["at_or_above"] == pytest.approx({"0.3": 2 / 5, "0.5": 2 / 5, "0.7": 1 / 5, "0.9": 1 / 5})
    assert r["same"]["at_or_above"] == pytest.approx({"0.3": 1, "0.5": 1, "0.7": 1, "0.9": 0})
    assert r["different"]["mean"] == pytest.approx(1.56 / 5, abs=1e-6)

    fig = F.fig12(tiny, tmp_path / "out", {"fake": tiny_embed}, weighting="occurrences", name="fig12-occ")
    r = json.loads(fig.json.read_text())["embeddings"]["fake"]
    # weights count_i * count_j: dog1-car 2*3 (0.6), dog2-car 1*3 (0.96), dog1-rain 4, dog2-rain 2, car-rain 6 (0)
    assert r["different"]["weight"] == 21
    assert r["different"]["at_or_above"] == pytest.approx({"0.3": 9 / 21, "0.5": 9 / 21, "0.7": 3 / 21, "0.9": 3 / 21})
    assert r["same"]["weight"] == 2 and r["same"]["at_or_above"]["0.9"] == 0
    # density is normalised: integrates to 1 over the bins
    edges = np.array(json.loads(fig.json.read_text())["bin_edges"])
    assert float(np.sum(np.array(r["different"]["density"]) * np.diff(edges))) == pytest.approx(1.0)
    # 40% of the different-class pairs at or above 0.5: tau 0.5 does not separate the classes here
    assert fig.holds is False and fig.png.is_file()


def test_fig12_one_panel_per_embedder_and_a_separating_embedder(five: Path, tmp_path: Path):
    fig = F.fig12(five, tmp_path / "out", {"a": class_embed, "b": class_embed})
    data = json.loads(fig.json.read_text())
    assert set(data["embeddings"]) == {"a", "b"}
    for r in data["embeddings"].values():
        assert r["same"]["at_or_above"]["0.5"] == pytest.approx(1.0)  # paraphrases at cos 0.923
        assert r["same"]["at_or_above"]["0.9"] == pytest.approx(1.0)
        assert r["different"]["at_or_above"]["0.3"] == 0.0
    assert fig.holds is True


def test_pair_similarities_rejects_an_unknown_weighting():
    with pytest.raises(ValueError, match="weighting"):
        F.pair_similarities(np.eye(2), ["a", "b"], [1, 1], "bogus")


# --------------------------------------------------------------------------- Fig. 13


def test_fig13_negatives_are_never_positives_and_their_classes_are_right(five: Path, tmp_path: Path):
    taus = (0.5, 0.95)
    fig = F.fig13(five, tmp_path / "out", {"fake": class_embed}, taus=taus, n=8, seed=3)
    assert fig.png is None
    data = json.loads(fig.json.read_text())
    clip = data["clip"]
    assert clip["index"] == 0 and clip["uncaptioned_classes"] == ["bird"]  # the first clip with 3 phrases
    positives = {p["phrase"] for p in clip["positives"]}
    present = set(clip["classes_present"])
    cols = data["embeddings"]["fake"]["negatives"]
    for tau in taus:
        negatives = cols[str(tau)]
        assert negatives and len(negatives) <= 8 - 3
        for e in negatives:
            assert e["phrase"] not in positives
            assert e["class"] == CLASS_OF[e["phrase"]]
            assert e["audible"] == (CLASS_OF[e["phrase"]] in present)
    # tau 0.5 keeps paraphrases of the positives out (cos 0.923); only the uncaptioned bird can be audible
    assert all(e["class"] not in {"dog", "car", "rain"} for e in cols["0.5"])
    assert all(e["max_similarity_to_positives"] < 0.5 for e in cols["0.5"])
    # tau 0.95 lets every other phrase through: the 5 wanted negatives include a paraphrase
    assert len(cols["0.95"]) == 5 and any(e["class"] in {"dog", "car", "rain"} for e in cols["0.95"])
    assert "| # | τ = 0.5 | τ = 0.95 |" in fig.markdown and "**FN**" in fig.markdown
    stats = data["embeddings"]["fake"]["all_clips"]
    assert stats["0.5"]["clips"] == 41
    assert stats["0.95"]["false_negative_rate"] > stats["0.5"]["false_negative_rate"]


def test_fig13_is_deterministic_and_takes_a_clip(five: Path, tmp_path: Path):
    a = F.fig13(five, tmp_path / "a", {"fake": class_embed}, taus=(0.5,), n=6)
    b = F.fig13(five, tmp_path / "b", {"fake": class_embed}, taus=(0.5,), n=6)
    assert a.json.read_text() == b.json.read_text()
    c = F.fig13(five, tmp_path / "c", {"fake": class_embed}, taus=(0.5,), n=6, clip=4)
    assert json.loads(c.json.read_text())["clip"]["index"] == 4
    with pytest.raises(ValueError, match="phrases"):
        F.fig13(five, tmp_path / "d", {"fake": class_embed}, min_phrases=9)


def test_a_bare_embedder_is_named_embedder(five: Path, tmp_path: Path):
    fig = F.fig13(five, tmp_path, class_embed, taus=(0.5,), n=6)
    assert list(json.loads(fig.json.read_text())["embeddings"]) == ["embedder"]


def test_make_figures_writes_all_four_and_an_index(five: Path, tmp_path: Path):
    out = tmp_path / "out"
    figs = F.make_figures(five, out, {"fake": class_embed}, n_clusters=(2, 5), taus=(0.5, 0.95))
    assert [f.name for f in figs] == ["fig4", "fig11", "fig12", "fig13"]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["README.md", "fig4.png", "fig4.json", "fig11.png", "fig11.json", "fig12.png", "fig12.json", "fig13.json"])
    text = (out / "README.md").read_text()
    assert "![fig4](fig4.png)" in text and "fig13.json" in text and "*Paper:*" in text
    assert json.loads(json.dumps(figs[0].to_dict()))["png"].endswith("fig4.png")
