"""The experiment groups: rows shared between groups are the same run; configs exist; reports read JSON."""

from __future__ import annotations

import json
import math

import pytest

from wstag.experiments.groups import GROUPS, TABLE2
from wstag.experiments.report import mean_sd, write_report
from wstag.experiments.runner import row_config, GroupRun


def test_a_row_key_means_one_config_in_every_group():
    seen = {}
    for group in GROUPS.values():
        for row in group.rows:
            spec = (row.config_path, row.overrides, row.teacher)
            assert seen.setdefault(row.key, spec) == spec, f"{row.key} differs between groups"
            assert row.config_path.is_file(), row.config_path


def test_every_row_loads_under_the_cpu_budget(tmp_path):
    group = GroupRun(tmp_path, tmp_path)
    for row in {r.key: r for g in GROUPS.values() for r in g.rows}.values():
        if row.teacher:
            continue
        config, clap = row_config(row, 0, "cpu", 12, group)
        # a data share trains for 12 / share epochs: the full set's gradient steps (Fig. 7)
        share = config.training.train_fraction
        assert config.model["preset"] == "cpu_fast" and config.training.max_epochs == round(12 / share)
        assert config.training.seed == 0 and config.training.threads == 2
        for override in row.overrides:
            key, value = override.split("=")
            section, name = key.split(".")
            assert str(getattr(getattr(config, section), name)) == value
        assert (clap is not None) == (config.sampling.needs_embeddings and config.sampling.embeddings == "clap")


def _write(out, key, seed, **metrics):
    (out / "rows").mkdir(parents=True, exist_ok=True)
    base = {k: 30.0 for k in ("psds_whole", "th_auc_whole", "psds_short", "th_auc_short",
                              "psds_whole_wrong_query", "specificity", "psds_whole_loudness")}
    (out / "rows" / f"{key}-seed{seed}.json").write_text(json.dumps({
        "row": key, "seed": seed, "metrics": {**base, **metrics}, "epochs": 12, "train_seconds": 600.0,
        "model_dir": str(out), "corpus_hash": "c0ffee", "code_commit": "abc", "device": "cpu"}))


def test_mean_and_sample_sd_over_seeds():
    results = [{"metrics": {"psds_whole": v}} for v in (30.0, 32.0, 37.0)]
    m, sd, n = mean_sd(results, "psds_whole")
    assert (m, n) == (33.0, 3) and sd == pytest.approx(math.sqrt(((3 ** 2) + 1 + 16) / 2))


def test_report_puts_our_mean_beside_the_paper_and_judges_the_claims(tmp_path):
    for seed, (rand, sim) in enumerate([(30.0, 36.0), (32.0, 34.0)]):
        _write(tmp_path, "phrase_random", seed, psds_whole=rand, psds_short=rand)
        _write(tmp_path, "phrase_similarity", seed, psds_whole=sim, psds_short=sim)
        _write(tmp_path, "sentence_amax_tmean", seed, psds_whole=20.0)
    text = write_report(list(GROUPS.values()), tmp_path).read_text()
    assert "| Phrase-level WSTAG | Random Sampling | 2 | 31.0 ± 1.4 / 43.7 |" in text
    # diffs +6 and +2: mean +4; 2 seeds, so the pooled seed spread sqrt((2 + 2 + 0) / 3) of the three
    # two-seed rows gives the interval: 1.96 * 1.155 * sqrt(2 / 2) = 2.26
    assert ("Advanced sampling beats random (psds_whole): holds here (phrase_similarity - phrase_random: "
            "+4.0 ± 2.3, 95 % interval, 2 seeds)") in text
    assert "Target: best phrase-level row >= random + 3 (psds_whole): inconclusive here" in text  # 1.7 .. 6.3
    assert "Phrase-level beats sentence-level" in text and "+11.0" in text
    assert "## Table III" in text and "## Fig. 9: phrase number n" in text  # groups with a shared row
    assert (tmp_path / "figures" / "fig9.png").is_file()
    assert "## Fig. 8" not in text  # no row of it has run
    assert "6 row-seeds; corpus hash c0ffee" in text


def test_compare_pairs_rows_by_seed():
    """A row with one seed is compared with the other row's same seed, not its 3-seed mean."""
    from wstag.experiments.report import compare, paired_seeds

    def row(**by_seed):
        return [{"seed": int(s[1:]), "metrics": {"psds_whole": v}} for s, v in by_seed.items()]

    results = {"a": row(s0=10.0), "b": row(s0=8.0, s1=2.0, s2=2.0), "c": row(s1=5.0, s2=float("nan"))}
    assert paired_seeds(results, "a", "b", "psds_whole") == [0]
    assert compare(results, "a", "b", "psds_whole") == pytest.approx(2.0)  # unpaired means would say 6.0
    assert compare(results, "b", "c", "psds_whole") == pytest.approx(-3.0)  # seed 2 of c has no figure
    assert compare(results, "a", "c", "psds_whole") is None  # no common seed
    assert compare(results, "a", "missing", "psds_whole") is None


def test_report_elsewhere_links_into_out_and_summarises_the_claims(tmp_path):
    out = tmp_path / "reports" / "runs"
    for seed, (rand, sim) in enumerate([(30.0, 36.0), (32.0, 34.0)]):
        _write(out, "phrase_random", seed, psds_whole=rand, psds_short=rand)
        _write(out, "phrase_similarity", seed, psds_whole=sim, psds_short=sim)
    (out / "sampling-diagnosis.md").write_text("x")
    path = write_report([GROUPS["table2"], GROUPS["fig9"]], out, path=tmp_path / "reports" / "REPORT.md")
    text = path.read_text()
    assert path == tmp_path / "reports" / "REPORT.md" and not (out / "REPORT.md").exists()
    assert "in `runs/rows/`" in text and "(`runs/sampling-diagnosis.md`;" in text
    assert "![Fig. 9: phrase number n](runs/figures/fig9.png)" in text
    assert "`th_auc_convention`" in text  # not a path in OUT: left alone
    # the summary: one line per claim of the paper, the targets left to their section
    # pooled spread sqrt((2 + 2) / 2): 1.96 * 1.414 = 2.8
    assert ("| Table II | Advanced sampling beats random (psds_whole) | holds | "
            "phrase_similarity - phrase_random: +4.0 ± 2.8, 95 % interval, 2 seeds |") in text
    assert "| Fig. 9 | random: the best n is 32 or 64 | not measured yet |" in text
    assert "| Table II | Target:" not in text
    # what one seed of the group cost: 2 rows x median(600, 600) s (the JSON's train_seconds, no "seconds" key)
    assert "One seed of this group on its own: 2 rows of 12 epochs, 20 min of training and evaluation on cpu " \
           "(measured; a row with several seeds counts its median); 7 of its 9 rows not run yet." in text


def test_report_command_rewrites_the_report_without_training(tmp_path):
    from typer.testing import CliRunner

    from wstag.cli.main import app

    out = tmp_path / "out"
    _write(out, "phrase_random", 0, psds_whole=31.0)
    runner = CliRunner()
    result = runner.invoke(app, ["experiments", "report", "--out", str(out)])
    assert result.exit_code == 2 and "no rows/ and groups.json" in result.output
    (out / "groups.json").write_text(json.dumps(["table2"]))
    result = runner.invoke(app, ["experiments", "report", "--out", str(out), "--report", str(tmp_path / "R.md")])
    assert result.exit_code == 0, result.output
    assert "| Phrase-level WSTAG | Random Sampling | 1 | 31.0 / 43.7 |" in (tmp_path / "R.md").read_text()


def test_seed_spread_is_the_pooled_sd_and_flags_margins_inside_it():
    from wstag.experiments.groups import table4_conclusions
    from wstag.experiments.report import seed_spread

    def row(key, *values, th=None):
        return [{"seed": s, "metrics": {"psds_whole": v, "th_auc_whole": th if th is not None else v}}
                for s, v in enumerate(values)]

    results = {"a": row("a", 30.0, 32.0, 37.0), "b": row("b", 10.0, 12.0), "c": row("c", 5.0)}
    # variances 13 (3 seeds) and 2 (2 seeds), pooled over 2 + 1 degrees of freedom; c adds none
    assert seed_spread(results, "psds_whole") == pytest.approx(math.sqrt((2 * 13 + 1 * 2) / 3))
    assert seed_spread({"c": results["c"]}, "psds_whole") is None
    # Table IV with one seed per row and no spread known: no interval, so no verdict either way
    rows = {"sentence_amax_tmean": row("m", 20.0, th=30.0), "sentence_amax_tsum": row("s", 18.0, th=25.0)}
    assert "inconclusive here" in table4_conclusions(rows)[0]
    # with the spread 3.06 of rows a and b: 1.96 * 3.055 * sqrt(2) = 8.5 around +2.0 and +5.0
    line = table4_conclusions({**rows, "a": results["a"], "b": results["b"]})[0]
    assert "inconclusive here (mean - sum: PSDS whole +2.0 ± 8.5, 95 % interval, 1 seed; Th-AUC whole +5.0 ± 8.5" in line
    # three seeds: PSDS diffs 0, 0, -0.5 (interval holds 0), Th-AUC diffs 5, 5.5, 5.5 (t: 4.303 * 0.289 / sqrt 3)
    three = {"sentence_amax_tmean": [{"seed": s, "metrics": {"psds_whole": p, "th_auc_whole": t}}
                                     for s, (p, t) in enumerate([(20, 30), (21, 31), (22, 32)])],
             "sentence_amax_tsum": [{"seed": s, "metrics": {"psds_whole": p, "th_auc_whole": t}}
                                    for s, (p, t) in enumerate([(20, 25), (21, 25.5), (22.5, 26.5)])]}
    assert table4_conclusions(three)[0].endswith("holds here (mean - sum: PSDS whole -0.2 ± 0.7, 95 % interval, "
                                                 "3 seeds; Th-AUC whole +5.3 ± 0.7, 95 % interval, 3 seeds)")
    from wstag.experiments.groups import _verdict
    from wstag.experiments.report import Difference

    assert _verdict(Difference(-1.0, 3.0, 2, "pooled seed spread"), "x - y") == \
        "inconclusive here (x - y: -1.0 ± 3.0, 95 % interval, 2 seeds)"
    assert _verdict(Difference(4.0, 3.0, 3, "t over seeds"), "x - y") == \
        "holds here (x - y: +4.0 ± 3.0, 95 % interval, 3 seeds)"
    assert _verdict(Difference(-4.0, 3.0, 3, "t over seeds"), "x - y").startswith("does not hold here")


def test_best_row_is_judged_on_the_seeds_every_row_has():
    """K-means with seeds 0 and 1 against spectral and agglomerative with seed 0 only: seed 0 decides."""
    from wstag.experiments.groups import table6_conclusions

    def row(*values):
        return [{"seed": s, "metrics": {"psds_short": v}} for s, v in enumerate(values)]

    results = {"phrase_clustering": row(17.0, 30.0), "phrase_clustering_spectral": row(18.0),
               "phrase_clustering_agglomerative": row(16.0)}
    line = table6_conclusions(results)[0]  # the 2-seed mean, 23.5, would call k-means best
    # seed 0: -1.0 against spectral; the spread is k-means' own, sqrt(84.5) = 9.19, so 1.96 * 9.19 * sqrt(2)
    assert line == ("K-means is the best clustering algorithm for Alg. 2: inconclusive here (K-means - Spectral, "
                    "psds_short: -1.0 ± 25.5, 95 % interval, 1 seed)")


def test_the_curve_cell_shows_the_last_epoch_and_its_recent_change():
    from wstag.experiments.report import curve_cell

    seed0 = {"val_curve": {"metric": "val/tag_auc", "values": [0.50, 0.55, 0.60, 0.62, 0.64]}}
    seed1 = {"val_curve": {"metric": "val/tag_auc", "values": [0.50, 0.52, 0.54, 0.56, 0.58]}}
    # last 0.64 and 0.58 (mean 0.61); change over 3 epochs 0.64 - 0.55 and 0.58 - 0.52 (mean 0.075)
    assert curve_cell([seed0, seed1]) == "tag_auc 0.610 (+0.075)"
    too_short = {"val_curve": {"metric": "val/loss", "values": [3.0, 2.0, 1.0]}}
    assert curve_cell([too_short]) == "-" and curve_cell([{"epochs": 12}]) == "-"
    gap = {"val_curve": {"metric": "val/loss", "values": [3.0, None, 1.5, 1.2, 1.0]}}
    assert curve_cell([gap, seed0]) == "tag_auc 0.640 (+0.090)"  # no value 3 epochs before the last: skipped


def test_each_section_says_how_many_seeds_and_why_not_three():
    from wstag.experiments.report import group_seeds
    from wstag.experiments.runner import Row

    rows = [Row("a", "A", "s"), Row("b", "B", "s")]
    one = {"seed": 0, "seconds": 600.0, "train_seconds": 500.0}
    # one seed of the group: 2 rows x 10 min = 20 min; 3 seeds: 60 min, inside 90
    assert group_seeds(rows, {"a": [one], "b": [one]}) == \
        "Every row has 1 seed. 3 seeds would take about 60 min; the others are not run yet."
    slow = {**one, "seconds": 1200.0}  # 2 x 20 min x 3 = 120 min: over the budget, 1 seed stated
    text = group_seeds(rows, {"a": [slow, {**slow, "seed": 1}], "b": [slow]})
    assert text.startswith("Seeds per row: 2 for a; 1 for b. 3 seeds of every row would take about 120 min, over")
    three = [{**one, "seed": s} for s in range(3)]
    assert group_seeds(rows, {"a": three, "b": three}) == "Every row has 3 seeds."
    assert group_seeds(rows, {}) == ""
    # a seed timed beside another job (50 min) does not count: a's median is 10 min, b 10 min
    contended = [{**one, "seconds": 3000.0}, {**one, "seed": 1}]
    assert "would take about 60 min" in group_seeds(rows, {"a": contended + [{**one, "seed": 2}], "b": [one]})


def test_sampling_study_pairs_each_factor_with_its_reference_row():
    from wstag.experiments.groups import sampling_conclusions

    def res(seed, whole, short, spec):
        return {"seed": seed, "metrics": {"psds_whole": whole, "psds_short": short, "specificity": spec}}

    results = {"phrase_similarity": [res(0, 26.0, 19.0, 9.0), res(1, 30.0, 21.0, 11.0)],
               "phrase_similarity_n8": [res(0, 29.0, 24.0, 12.5)],
               "phrase_random": [res(0, 27.0, 20.0, 10.0), res(1, 28.0, 23.0, 10.0)]}
    lines = sampling_conclusions(results)
    # n 8 has seed 0 only: 29 - 26, 24 - 19, 12.5 - 9 on that seed
    assert "similarity sampling: n 8 instead of 32: PSDS whole +3.0, short +5.0, specificity +3.5 " \
           "(paired over 1 seed)" in lines
    # both seeds: whole (26 + 30) / 2 - (27 + 28) / 2 = +0.5, short 20 - 21.5 = -1.5, specificity 10 - 10
    assert "similarity (SBERT) instead of random sampling: PSDS whole +0.5, short -1.5, specificity +0.0 " \
           "(paired over 2 seeds)" in lines
    assert "random sampling: n 8 instead of 32: not measured yet" in lines


def test_report_beside_another_corpus_judges_its_rows_on_their_own(tmp_path):
    """`wstag experiments report --beside world=FOLDER`: the other corpus's Table II after this one's,
    linked into its own folder, its claims in the summary under its label, judged on its rows only."""
    from typer.testing import CliRunner

    from wstag.cli.main import app

    small, world = tmp_path / "reports" / "small", tmp_path / "reports" / "world"
    for seed, (rand, sim) in enumerate([(30.0, 36.0), (32.0, 34.0)]):
        _write(small, "phrase_random", seed, psds_whole=rand, psds_short=rand)
        _write(small, "phrase_similarity", seed, psds_whole=sim, psds_short=sim)
    _write(world, "phrase_random", 0, psds_whole=20.0, psds_short=20.0)
    _write(world, "phrase_similarity", 0, psds_whole=27.0, psds_short=27.0)
    for folder in (small, world):
        (folder / "groups.json").write_text(json.dumps(["table2"]))
    runner = CliRunner()
    res = runner.invoke(app, ["experiments", "report", "--out", str(small), "--report", str(tmp_path / "reports" /
                              "REPORT.md"), "--beside", f"world={world}"])
    assert res.exit_code == 0, res.output
    text = (tmp_path / "reports" / "REPORT.md").read_text()
    assert text.index("## Table II: WSTAG approaches against SSTAG\n") < text.index(
        "## Table II: WSTAG approaches against SSTAG (on world)\n")
    world_part = text[text.index("(on world)"):]
    assert "| Phrase-level WSTAG | Random Sampling | 1 | 20.0 / 43.7 |" in world_part
    # the group's note reports findings measured on small: the world section says whose rows it repeats
    assert "sampling-diagnosis" not in world_part
    assert "The rows of the section above, with the same configs and epochs, trained and tested on the world corpus" in world_part
    assert "Provenance of the sections on world: 2 row-seeds; corpus hash c0ffee" in world_part
    # one seed each and no world row with two: no interval, whatever small's spread
    assert ("| world: Table II | Advanced sampling beats random (psds_whole) | inconclusive | "
            "phrase_similarity - phrase_random: +7.0, no interval (1 seed) |") in text
    assert "| Table II | Advanced sampling beats random (psds_whole) | holds |" in text
    res = runner.invoke(app, ["experiments", "report", "--out", str(small), "--beside", str(world)])
    assert res.exit_code == 2 and "expected LABEL=FOLDER" in res.output
