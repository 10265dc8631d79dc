"""Sampling diagnostics: hand-computable cases with a fake embedder (no SBERT, no CLAP)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.sampling.fake_embeddings import AXIS, CLASS_OF, WORDINGS, fake_embed, write_corpus  # noqa: F401
from wstag.experiments import sampling_diagnosis as D
from wstag.sampling.random_sampler import RandomNegativeSampler

# class -> two wordings; the fake embedder puts a class's wordings close together




# --------------------------------------------------------------------------- 1. embedding quality


def test_purity_ari_and_nearest_neighbour_by_hand():
    clusters, classes = [0, 0, 0, 1, 1], ["a", "a", "b", "b", "b"]
    assert D.cluster_purity(clusters, classes) == pytest.approx(4 / 5)  # 2 a's + 2 b's in the majorities
    # weights: cluster 0 holds a=2, b=3 -> 3; cluster 1 holds b=2 -> 2; of 7
    assert D.cluster_purity(clusters, classes, [1, 1, 3, 1, 1]) == pytest.approx(5 / 7)
    assert D.weighted_ari([0, 0, 1, 1], ["x", "x", "y", "y"]) == pytest.approx(1.0)
    assert D.weighted_ari([0, 1, 1], ["a", "b", "b"], [2, 1, 3]) == pytest.approx(1.0)
    assert D.weighted_ari([0, 0, 0, 1, 1], classes, [1, 1, 3, 1, 1]) == pytest.approx(
        D.weighted_ari([0, 0, 0, 0, 0, 1, 1], ["a", "a", "b", "b", "b", "b", "b"]))
    v = np.array([[1, 0], [0.9, 0.436], [0, 1], [0.436, 0.9]])  # 0<->1 nearest, 2<->3 nearest
    assert D.nearest_neighbour_accuracy(v, ["a", "a", "b", "b"]) == 1.0
    assert D.nearest_neighbour_accuracy(v, ["a", "b", "b", "b"]) == pytest.approx(2 / 4)  # rows 2, 3 hit
    assert D.nearest_neighbour_accuracy(v, ["a", "b", "b", "b"], [3, 1, 1, 1]) == pytest.approx(2 / 6)


def test_embedding_quality_of_a_perfect_embedder():
    texts = sorted(CLASS_OF)
    q = D.embedding_quality(texts, [1] * len(texts), [CLASS_OF[t] for t in texts], fake_embed(texts),
                            n_clusters=5, thresholds=(0.5,))
    assert q["kmeans_5"]["purity"] == 1.0 and q["kmeans_5"]["ari"] == pytest.approx(1.0)
    assert q["kmeans_n_classes"]["n_clusters"] == 5 and q["nn_accuracy"] == 1.0
    assert q["tau"]["0.5"] == {"same_class_at_or_above": 1.0, "cross_class_at_or_above": 0.0}


# --------------------------------------------------------------------------- 2. draws


def test_false_negatives_shortfall_and_over_exclusion_of_a_hand_built_draw(tmp_path):
    corpus = write_corpus(tmp_path, [
        (["a dog barks"], ["dog", "rain"]),  # rain is an uncaptioned background
        (["a car passes"], ["car"]),
        (["rain falls"], ["rain"]),
        (["dogs bark"], ["dog"]),
    ])
    data = D.load_train_pool(corpus)
    assert data.phrase_classes == [["dog"], ["car"], ["rain"], ["dog"]]
    tc = {t: CLASS_OF[t] for t in CLASS_OF}
    sets = {t: {c} for t, c in tc.items()}
    draws = [
        # clip 0: "dogs bark" paraphrases a positive (captioned FN), "rain falls" is audible (background FN)
        D.Draw(0, ["a dog barks"], ["dogs bark", "rain falls", "a car passes"], wanted=3),
        D.Draw(1, ["a car passes"], ["a dog barks"], wanted=3),  # short: 1 of 3
    ]
    s = D.draw_statistics(draws, data, tc, sets)
    assert s["negatives"] == 4 and s["negatives_wanted"] == 6
    assert s["false_negative_rate"] == pytest.approx(2 / 4)
    assert s["false_negative_rate_captioned"] == pytest.approx(1 / 4)
    assert s["false_negative_rate_background"] == pytest.approx(1 / 4)
    assert s["short_clip_share"] == pytest.approx(1 / 2)
    assert s["distinct_negative_classes"] == 3 and s["n_classes"] == 3
    # negatives: dog 2, rain 1, car 1 -> max share 0.5 (dog)
    assert s["negative_class_max"] == "dog" and s["negative_class_max_share"] == pytest.approx(0.5)
    # eligible pairs: clip 0 (dog; absent car) -> (dog, car) drawn; clip 1 (car; absent dog, rain):
    # (car, dog) drawn, (car, rain) never drawn
    # P(label=1 | class): dog 1 positive + 2 negatives, car 1 + 1, rain 0 + 1
    assert s["class_label_rate"]["max"] == pytest.approx(1 / 2) and s["class_label_rate"]["min"] == 0.0
    assert s["class_label_rate"]["highest"][0] == {"class": "car", "rate": 0.5}
    assert s["eligible_pairs"] == 3 and s["never_drawn_pairs"] == 1
    assert s["over_exclusion_top"] == [{"positive_class": "car", "negative_class": "rain", "eligible_clips": 1}]


def test_draw_epoch_is_the_phrase_level_datasets_draw(tmp_path):
    corpus = write_corpus(tmp_path, [([w], [c]) for c, ws in WORDINGS.items() for w in ws])
    data = D.load_train_pool(corpus)
    sampler = RandomNegativeSampler(data.pool)
    draws = D.draw_epoch(sampler, data.clips, 4, seed=3, epoch=1)
    for i, d in enumerate(draws):
        positives = [p.text for p in data.clips[i].phrases]
        assert d.clip_index == i and d.positives == positives and d.wanted == 3
        assert d.negatives == sampler.sample(positives, 4, np.random.default_rng([3, 1, i]))


# --------------------------------------------------------------------------- 3. probe


def _examples(texts, labels, clips):
    return D.Examples(np.asarray(clips), list(texts), [None] * len(texts), np.asarray(labels))


def test_probe_is_chance_on_random_labels_and_perfect_on_a_leaking_sampler():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(40)]
    n = 6000
    texts = [f"{rng.choice(words)} {rng.choice(words)}" for _ in range(n)]
    clips = np.arange(n) // 6
    noise = D.text_probe(*D.clip_split(_examples(texts, rng.integers(0, 2, n), clips), seed=0))
    assert abs(noise["tfidf_auc"] - 0.5) < 0.05
    # a leaking sampler: positives say "dog", negatives never do
    labels = rng.integers(0, 2, n)
    leaky = [f"{t} dog" if y else t for t, y in zip(texts, labels)]
    leak = D.text_probe(*D.clip_split(_examples(leaky, labels, clips), seed=0))
    assert leak["tfidf_auc"] > 0.99
    assert leak["test_examples"] == pytest.approx(0.2 * n, abs=6)


def test_class_probe_sees_a_class_prior():
    rng = np.random.default_rng(1)
    classes = rng.choice(["dog", "car"], 4000)
    labels = (rng.random(4000) < np.where(classes == "dog", 0.8, 0.2)).astype(int)
    ex = D.Examples(np.arange(4000) // 4, [f"t{i}" for i in range(4000)], list(classes), labels)
    out = D.text_probe(*D.clip_split(ex, seed=0))
    assert out["tfidf_auc"] == pytest.approx(0.5, abs=0.05)  # every text unique: wording says nothing
    assert out["class_auc"] == pytest.approx(0.8, abs=0.05)  # AUC of a 0.8/0.2 split by class


# --------------------------------------------------------------------------- all together


def test_diagnose_sampling_end_to_end_with_a_fake_embedder(tmp_path):
    rng = np.random.default_rng(0)
    names = list(WORDINGS)
    clips = []
    for _ in range(60):  # two captioned classes (random wordings) and sometimes an uncaptioned third
        cls = rng.choice(names, 3, replace=False)
        phrases = [WORDINGS[c][int(rng.integers(2))] for c in cls[:2]]
        clips.append((phrases, sorted(cls if rng.random() < 0.5 else cls[:2])))
    corpus = write_corpus(tmp_path, clips)
    d = D.diagnose_sampling(corpus, {"fake": fake_embed}, n_values=(6,), thresholds=(0.5,), n_clusters=5, seed=0)
    json.dumps(d)  # JSON-ready
    assert d["clips"] == 60 and d["classes"] == 5 and d["distinct_phrases"] == 10
    assert d["embeddings"]["fake"]["kmeans_5"]["purity"] == 1.0
    rows = {(r["sampler"], r.get("tau")): r for r in d["samplers"]}
    assert set(rows) == {("random", None), ("similarity", 0.5), ("clustering", None)}
    # random draws the other wording of a positive; tau 0.5 and the class-pure clusters never do
    assert rows[("random", None)]["false_negative_rate_captioned"] > 0
    assert rows[("similarity", 0.5)]["false_negative_rate_captioned"] == 0
    assert rows[("clustering", None)]["false_negative_rate_captioned"] == 0
    for r in d["samplers"]:
        assert {"clip_split", "epoch_split"} <= set(r["probe"])
        assert 0 <= r["false_negative_rate"] <= 1 and "_pair_draws" not in r
    md = D.format_diagnosis(d)
    assert md.startswith("# Negative-sampling diagnosis") and "| similarity fake tau 0.5 | 6 |" in md


def test_a_corpus_without_classes_is_refused(tmp_path):
    corpus = write_corpus(tmp_path, [(["a dog barks"], ["dog"])])
    labels = json.loads((corpus / "train" / "labels.json").read_text())
    del labels[0]["classes_present"]
    (corpus / "train" / "labels.json").write_text(json.dumps(labels))
    from wstag.errors import LabelError

    with pytest.raises(LabelError, match="classes_present"):
        D.load_train_pool(corpus)


def test_similar_negative_share_by_hand(tmp_path):
    """Four clips, two classes of two wordings: every clip draws the three other phrases
    (n exceeds the pool), one of them its own class's other wording (cos 0.98)."""
    from wstag.data.audiogrounding import read_v2, read_weak_v2

    write_corpus(tmp_path, [(["a dog barks"], ["dog"]), (["dogs bark"], ["dog"]),
                            (["a car passes"], ["car"]), (["cars pass by"], ["car"])])
    share = D.similar_negative_share(read_weak_v2(tmp_path / "train" / "weak.json"), fake_embed, n=32,
                                     thresholds=(0.5, 0.99))
    assert (share["clips"], share["distinct_phrases"], share["negatives"]) == (4, 4, 12)
    assert share["share_within_tau"] == {"0.5": pytest.approx(1 / 3, abs=1e-4), "0.99": 0.0}
    # strong labels (segments) are read as weak ones: the same draw, the same figures
    strong = read_v2(tmp_path / "train" / "labels.json", require_segments=True)
    assert D.similar_negative_share(strong, fake_embed, n=32, thresholds=(0.5, 0.99)) == share
