"""Output formats: exact Audacity and TSV text, and JSON that parses back to the curves."""

import json

import numpy as np
import pytest

from wstag.audio.frames import DEFAULT_GRID
from wstag.errors import ConfigError
from wstag.inference.formats import check_format, render, to_audacity, to_json, to_tsv
from wstag.inference.results import Detection, Detections, Scores

HAND_MADE = [
    Detection("a dog barks", 0.04, 1.2, 0.91),
    Detection("a man\tspeaks", 2.0, 9.987654321, 0.66),  # a tab in a label must not add a column
]


def test_audacity_label_track_exactly():
    assert to_audacity(HAND_MADE) == ("0.040000\t1.200000\ta dog barks\n"
                                      "2.000000\t9.987654\ta man speaks\n")
    assert to_audacity([]) == ""


def test_tsv_exactly():
    assert to_tsv(HAND_MADE) == ("onset\toffset\tphrase\n"
                                 "0.040\t1.200\ta dog barks\n"
                                 "2.000\t9.988\ta man speaks\n")
    assert to_tsv([]) == "onset\toffset\tphrase\n"


def _detections() -> Detections:
    probs = np.array([[0.123456, 0.9], [0.7, 0.2], [0.654321, 0.1]], dtype=np.float32)
    scores = Scores(("a dog barks", "rain falls"), DEFAULT_GRID.frame_time(np.arange(3)), probs, 0.12, "clip.wav",
                    DEFAULT_GRID, (("loudly",), ()))
    return scores.detect(threshold=0.5)


def test_json_holds_detections_and_each_curve():
    dets = _detections()
    doc = json.loads(render(dets, "json"))
    assert doc["source"] == "clip.wav" and doc["duration"] == 0.12 and doc["frame_hop"] == 0.04
    assert (doc["threshold"], doc["median"]) == (0.5, 1)
    assert doc["detections"] == [{"phrase": "a dog barks", "onset": 0.04, "offset": 0.12, "peak": 0.7},
                                 {"phrase": "rain falls", "onset": 0.0, "offset": 0.04, "peak": 0.9}]
    assert doc["curves"] == [
        {"phrase": "a dog barks", "ignored_words": ["loudly"], "times": [0.0, 0.04, 0.08],
         "probabilities": [0.1235, 0.7, 0.6543]},
        {"phrase": "rain falls", "ignored_words": [], "times": [0.0, 0.04, 0.08],
         "probabilities": [0.9, 0.2, 0.1]},
    ]
    assert json.loads(to_json(list(dets), dets.scores)) == doc | {"threshold": None, "median": None}
    with pytest.raises(ValueError, match="Scores"):
        to_json(HAND_MADE)


def test_unknown_format_is_one_line():
    assert render(_detections(), "audacity").startswith("0.040000\t0.120000\ta dog barks\n")
    with pytest.raises(ConfigError, match="unknown output format 'csv'; choose one of tsv, audacity, json"):
        check_format("csv")
