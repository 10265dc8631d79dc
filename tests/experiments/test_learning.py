"""The learning ladder's report (issue 24): figures from row files, verdicts on paired differences."""

import json

from wstag.experiments.learning import BASE, LADDER, ladder_table, write_learning_report


def _row(out, key, seed, short, train=0.8, val=(0.6, 0.7, 0.65)):
    path = out / "rows" / f"{key}-seed{seed}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "row": key, "seed": seed, "epochs": 12, "code_commit": "abc", "corpus_hash": "c0ffee",
        "metrics": {"psds_whole": short + 5, "psds_short": short, "specificity": 10.0},
        "curves": {"train/tag_auc": [0.5, train], "val/tag_auc": list(val)}}))


def test_the_ladder_table_reads_rows_and_judges_on_three_seeds(tmp_path):
    for seed, (base, scale) in enumerate([(27.0, 30.0), (25.0, 29.0), (26.0, 28.0)]):
        _row(tmp_path, BASE, seed, base)
        _row(tmp_path, "learn_scale", seed, scale, train=0.9)
    path = write_learning_report(tmp_path, tmp_path / "learning.md", notes="## Diagnosis\n\nx\n")
    text = path.read_text()
    # base: short 26.0 ± 1.0; scale - base: diffs 3, 4, 2 -> +3.0, t 4.303 * 1.0 / sqrt(3) = 2.5
    assert f"| {BASE} |" in text and "| 3 | 0.800 ± 0.000 | 0.700 ± 0.000 | 31.0 ± 1.0 | 26.0 ± 1.0 |" in text
    assert "+3.0 ± 2.5, 95 % interval, 3 seeds: better" in text
    assert "| learn_nodropout |" in text and "not run yet" in text
    assert "## Diagnosis" in text and "corpus hash c0ffee" in text
    assert ladder_table(LADDER[:1], {}).count("not run yet") == 1
    # every metric for the rungs with three seeds: whole +3.0 ± 2.5 too (whole = short + 5), specificity equal
    assert "| learn_scale | +3.0 ± 2.5, 95 % interval, 3 seeds: better | +3.0 ± 2.5, 95 % interval, 3 seeds: better " \
           "| +0.0 ± 0.0, 95 % interval, 3 seeds: inconclusive |" in text


def test_a_rung_that_changes_the_data_refuses_another_corpus(tmp_path):
    """learn_takes needs a corpus built with --event-takes: on any other it stops before training,
    naming the option, instead of writing a row that is the base rung under another name."""
    import pytest

    from wstag.errors import ConfigError
    from wstag.experiments.learning import RUNGS
    from wstag.experiments.runner import run_group

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "corpus.json").write_text(json.dumps({"preset": "tiny", "content_hash": "0" * 16}))
    with pytest.raises(ConfigError, match="row learn_takes trains on a corpus built with --event-takes; .*corpus "
                                          "is not one"):
        run_group([RUNGS["learn_takes"]], corpus, tmp_path / "out", seeds=[0], epochs=1, device="cpu")
    # a rung that needs a value: learn_groups1 refuses a corpus built with --train-groups 2
    (corpus / "corpus.json").write_text(json.dumps({"preset": "tiny", "content_hash": "0" * 16, "train_groups": 2}))
    with pytest.raises(ConfigError, match="row learn_groups1 trains on a corpus built with --train-groups 1; .*has "
                                          "train_groups: 2"):
        run_group([RUNGS["learn_groups1"]], corpus, tmp_path / "out", seeds=[0], epochs=1, device="cpu")


def test_corpus_has_a_key_or_a_key_with_its_value():
    from wstag.experiments.runner import corpus_has

    info = {"event_takes": {"semitones": 2.0}, "train_groups": 2}
    assert corpus_has(info, "event_takes") and corpus_has(info, "train_groups=2")
    assert not corpus_has(info, "train_groups=1") and not corpus_has(info, "recordings_from")
