"""Caption frequencies (issue 27): real phrases mapped to classes, counted, checked by hand."""

from collections import Counter

import numpy as np

from wstag.experiments.caption_frequencies import (
    caption_frequencies, class_texts, format_frequencies, label_phrases, nearest_classes,
)
from wstag.scapes.classtable import load_class_table

#: a hand-made embedding: each text's unit vector, so every cosine below is known
VECTORS = {"a dog barks": (1, 0, 0), "barking": (0.8, 0.6, 0), "rain falls": (0, 1, 0),
           "a drizzle": (0, 0.6, 0.8), "a dog": (0.9, 0, 0.43589), "background": (0, 0, 1)}


def embed(texts):
    return np.array([VECTORS[t] for t in texts], dtype=np.float32)


def test_each_phrase_goes_to_the_class_of_its_most_similar_known_phrase():
    texts = {"dog_bark": ["a dog barks", "barking"], "rain": ["rain falls", "a drizzle"]}
    # "a dog": 0.9 with "a dog barks", 0.72 with "barking" -> dog 0.9; "background": 0.8 with "a drizzle"
    got = nearest_classes(["a dog", "background"], texts, embed)
    assert [(c, round(s, 3)) for c, s in got] == [("dog_bark", 0.9), ("rain", 0.8)]


def test_counts_shares_and_imbalance_by_hand():
    texts = {"dog_bark": ["a dog barks", "barking"], "rain": ["rain falls", "a drizzle"]}
    counts = Counter({"a dog": 6, "background": 3, "rain falls": 1})
    study = caption_frequencies(counts, texts, embed, thresholds=(0.85, 0.95))
    # 0.85: "a dog" (0.9) and "rain falls" (1.0) map: 7 of 10 occurrences; dog 6, rain 1 -> 6 / 1
    assert study["thresholds"]["0.85"] == {"mapped_share": 0.7, "per_class": {"dog_bark": 6, "rain": 1},
                                          "classes_named": 2, "imbalance": 6.0}
    assert study["thresholds"]["0.95"]["mapped_share"] == 0.1 and study["thresholds"]["0.95"]["classes_named"] == 1
    assert [r["phrase"] for r in study["phrases"]] == ["a dog", "background", "rain falls"]  # by frequency
    text = format_frequencies(study, "x", unmapped=5)
    assert "| 0.85 | 70.0% | 2 of 2 | 6.0 |" in text and "| background | 3 | rain | 0.80 |" in text


def test_the_class_table_gives_each_class_its_phrases_and_wordings():
    texts = class_texts(load_class_table(), {"dog_bark": ("a canine yelps",)})
    assert "a dog barks" in texts["dog_bark"] and texts["dog_bark"][-1] == "a canine yelps" and len(texts) >= 47


def test_the_real_labels_are_read(audiogrounding_v1_dir):
    counts = label_phrases([audiogrounding_v1_dir / "val.json"])
    assert sum(counts.values()) == 451 and counts["a man speaks"] == 18
    assert all(p == p.strip().lower() for p in counts)
