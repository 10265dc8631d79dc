"""The paper's experiment groups: which rows, the published figures, and what each concludes.

A group is a list of rows (``configs/{key}.yaml`` each) run under one budget by
``runner.run_group`` and reported by ``report``; ``conclusions`` turns the measured
means into one plain sentence per claim of the paper, saying whether it holds here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from wstag.experiments.report import FIGURES, Difference, compare, mean_sd, paired_difference, paired_seeds
from wstag.experiments.runner import Row

SENTENCE, PHRASE, STRONG = "Sentence-level WSTAG", "Phrase-level WSTAG", "SSTAG"

TABLE2 = (
    Row("sentence_amean_tmean", "A-Mean + T-Mean (Baseline)", SENTENCE, (29.9, 38.0, 5.5, 3.7)),
    Row("sentence_amax_tmean", "A-Max + T-Mean", SENTENCE, (42.7, 48.9, 33.8, 42.4)),
    Row("phrase_random", "Random Sampling", PHRASE, (43.7, 46.5, 34.5, 43.2)),
    Row("phrase_random_self", "+ Self-Supervision", PHRASE, (48.7, 50.5, 40.1, 46.7), teacher="phrase_random"),
    Row("phrase_similarity", "Similarity-based Sampling (here Sentence-BERT; the paper's figures: CLAP)", PHRASE,
        (52.6, 53.9, 43.7, 48.5)),
    Row("phrase_similarity_self", "+ Self-Supervision", PHRASE, (55.7, 57.1, 46.2, 50.8),
        teacher="phrase_similarity"),
    Row("phrase_clustering", "Clustering-based Sampling (here Sentence-BERT, proportional draw; the paper's: CLAP, "
                             "uniform)", PHRASE, (52.9, 54.2, 44.4, 49.3)),
    Row("phrase_clustering_self", "+ Self-Supervision", PHRASE, (56.5, 57.1, 47.6, 51.7),
        teacher="phrase_clustering"),
    # The paper trains SSTAG on AudioGrounding (about a tenth of the clips); the embedded
    # benchmark has segments for every training clip, so all of them here.
    Row("sstag_all", "SSTAG (all training clips)", STRONG, (58.0, 52.6, 45.0, 39.9)),
)


def _decide(d: Difference, threshold: float = 0.0) -> str:
    """holds / does not hold when the 95 % interval lies above / below ``threshold``; inconclusive otherwise."""
    return {1: "holds", -1: "does not hold", 0: "inconclusive"}[d.side(threshold)]


def _verdict(d: Difference | None, what: str, threshold: float = 0.0) -> str:
    if d is None:
        return f"not measured yet ({what})"
    return f"{_decide(d, threshold)} here ({what}: {d.text()})"


def _negated(d: Difference | None) -> Difference | None:
    return None if d is None else Difference(-d.mean, d.half, d.seeds, d.method)


def _on_four(results, a: str, b: str) -> str:
    """Where the paper's four metrics disagree about ``a - b``: '' when they all point the same way."""
    signs = {}
    for key in FIGURES:
        d = paired_difference(results, a, b, key)
        if d is not None:
            signs[key] = d.mean
    if len({v > 0 for v in signs.values()}) <= 1:
        return ""
    return "; the four metrics disagree: " + ", ".join(f"{k.replace('_', ' ')} {v:+.1f}" for k, v in signs.items())


def _best(results: Mapping[str, list[dict]], keys: Sequence[str], metric: str = "psds_whole") -> str | None:
    measured = [k for k in keys if results.get(k)]
    return max(measured, key=lambda k: mean_sd(results[k], metric)[0]) if measured else None


def table2_conclusions(results: Mapping[str, list[dict]]) -> list[str]:
    """The paper's five claims about Table II and the issue's targets, measured."""
    phrase = [r.key for r in TABLE2 if r.section == PHRASE]
    out = []
    best_sentence = _best(results, ["sentence_amean_tmean", "sentence_amax_tmean"])
    d = paired_difference(results, "phrase_random", best_sentence, "psds_whole") if best_sentence else None
    out.append("Phrase-level beats sentence-level (random sampling vs the best sentence-level row, PSDS whole): "
               + _verdict(d, f"phrase_random - {best_sentence}"))
    best_adv = _best(results, ["phrase_similarity", "phrase_clustering"])
    for metric in ("psds_whole", "psds_short"):
        d = paired_difference(results, best_adv, "phrase_random", metric) if best_adv else None
        out.append(f"Advanced sampling beats random ({metric}): " + _verdict(d, f"{best_adv} - phrase_random"))
    d = paired_difference(results, "phrase_clustering", "phrase_similarity", "psds_whole")
    out.append("Clustering beats similarity (PSDS whole): " + _verdict(d, "phrase_clustering - phrase_similarity"))
    for row in (r for r in TABLE2 if r.teacher):
        d = paired_difference(results, row.key, row.teacher, "psds_short")
        out.append(f"Self-supervision helps {row.teacher} (PSDS short): " + _verdict(d, f"{row.key} - {row.teacher}"))
    best = _best(results, phrase)
    sstag, _, n = mean_sd(results.get("sstag_all", []), "psds_short")
    if best and n:
        ours = mean_sd(results[best], "psds_short")[0]
        gap = 100 * (sstag - ours) / sstag if sstag else float("nan")
        out.append(f"WSTAG close to SSTAG (best WSTAG row {best} on PSDS short, target: within 10 %): "
                   f"{'holds' if gap <= 10 else 'does not hold'} here ({ours:.1f} vs {sstag:.1f}, "
                   f"{gap:+.1f} % below SSTAG)")
    else:
        out.append("WSTAG close to SSTAG: not measured yet")
    for metric in ("psds_whole", "psds_short"):
        best_m = _best(results, phrase, metric)
        d = paired_difference(results, best_m, "phrase_random", metric) if best_m else None
        out.append(f"Target: best phrase-level row >= random + 3 ({metric}): "
                   + _verdict(d, f"{best_m} - phrase_random", threshold=3.0))
    if best:
        spec = mean_sd(results[best], "specificity")[0]
        out.append(f"Target: specificity of the best phrase-level row ({best}) >= 15: "
                   f"{'holds' if spec >= 15 else 'does not hold'} here ({spec:.1f})")
    return out


NAN = float("nan")


def _variant(key: str, base: str, label: str, *overrides: str, x=None, series=None, section=PHRASE,
             paper=None, epoch_scale: float = 1.0) -> Row:
    """A factor study's row: ``base``'s config with ``overrides``."""
    return Row(key, label, section, paper, config=base, overrides=overrides, x=x, series=series,
               epoch_scale=epoch_scale)


# The same key is the same run in every group (same config, same budget): Table II's rows
# are the reference points of the factor studies and are trained once.
RANDOM, SIMILARITY, CLUSTERING = "random", "similarity", "clustering"

TABLE3 = (
    Row("sentence_amean_tmean", "Mean (Baseline)", SENTENCE, (29.9, 38.0, 5.5, 3.7), x="mean"),
    Row("sentence_amax_tmean", "Max", SENTENCE, (42.7, 48.9, 33.8, 42.4), x="max"),
    Row("sentence_alinear_softmax_tmean", "Linear Softmax", SENTENCE, (32.4, 40.4, 6.2, 8.7), x="linear softmax"),
    Row("sentence_aexp_softmax_tmean", "Exp. Softmax", SENTENCE, (30.0, 38.4, 5.9, 4.3), x="exp. softmax"),
)
TABLE4 = (
    Row("sentence_amax_tmean", "Mean", SENTENCE, (42.7, 48.9, 33.8, 42.4)),
    Row("sentence_amax_tsum", "Sum", SENTENCE, (42.7, 43.9, 33.4, 38.1)),
)
TABLE6 = (
    Row("phrase_clustering", "K-means", PHRASE, (NAN, NAN, 44.4, NAN)),
    _variant("phrase_clustering_spectral", "phrase_clustering", "Spectral", "sampling.clustering=spectral",
             paper=(NAN, NAN, 41.5, NAN)),
    _variant("phrase_clustering_agglomerative", "phrase_clustering", "Agglomerative",
             "sampling.clustering=agglomerative", paper=(NAN, NAN, 38.2, NAN)),
)
# Fig. 7 uses similarity-based sampling (no clustering to refit per data share) and SSTAG. A
# share trains for epochs / share (the full set's gradient steps; early stopping as every row):
# under one fixed epoch count, 10 % of the data would also mean a tenth of the training.
FIG7 = tuple(
    r for share in (0.1, 0.25, 0.5)
    for r in (_variant(f"phrase_similarity_data{round(100 * share)}", "phrase_similarity",
                       f"similarity sampling, {share:.0%} of the clips", f"training.train_fraction={share}",
                       x=100 * share, series="WSTAG (similarity)", epoch_scale=1 / share),
              _variant(f"sstag_all_data{round(100 * share)}", "sstag_all", f"SSTAG, {share:.0%} of the clips",
                       f"training.train_fraction={share}", x=100 * share, series="SSTAG", section=STRONG,
                       epoch_scale=1 / share))
) + (Row("phrase_similarity", "similarity sampling, 100 % of the clips", PHRASE, x=100.0, series="WSTAG (similarity)"),
     Row("sstag_all", "SSTAG, 100 % of the clips", STRONG, x=100.0, series="SSTAG"))
# Fig. 8: phrase-level WSTAG (clustering-based sampling, as Table II's best sampler) per audio pooling.
FIG8 = tuple(
    _variant(f"phrase_clustering_{pool}", "phrase_clustering", label, f"training.audio_pooling={pool}", x=label)
    for pool, label in (("mean", "mean"), ("max", "max"), ("exp_softmax", "exp. softmax"))
) + (Row("phrase_clustering", "linear softmax", PHRASE, x="linear softmax"),)
FIG9 = tuple(
    (Row(key, f"{name}, n 32", PHRASE, x=32, series=name) if n == 32 else
     _variant(f"{key}_n{n}", key, f"{name}, n {n}", f"training.n_phrases={n}", x=n, series=name))
    for key, name in (("phrase_random", RANDOM), ("phrase_clustering", CLUSTERING)) for n in (8, 16, 32, 64)
)
FIG10 = (
    Row("phrase_similarity", "similarity, Sentence-BERT", PHRASE, x=SIMILARITY, series="Sentence-BERT"),
    _variant("phrase_similarity_clap", "phrase_similarity", "similarity, CLAP", "sampling.embeddings=clap",
             x=SIMILARITY, series="CLAP"),
    Row("phrase_clustering", "clustering, Sentence-BERT", PHRASE, x=CLUSTERING, series="Sentence-BERT"),
    _variant("phrase_clustering_clap", "phrase_clustering", "clustering, CLAP", "sampling.embeddings=clap",
             x=CLUSTERING, series="CLAP"),
)
FIG11 = tuple(
    Row("phrase_clustering", "n_c 32", PHRASE, x=32) if k == 32 else
    _variant(f"phrase_clustering_nc{k}", "phrase_clustering", f"n_c {k}", f"sampling.n_clusters={k}", x=k)
    for k in (8, 16, 32, 64)
)
FIG12 = tuple(
    Row("phrase_similarity", "tau 0.5", PHRASE, x=0.5) if tau == 0.5 else
    _variant(f"phrase_similarity_tau{round(10 * tau):02d}", "phrase_similarity", f"tau {tau}",
             f"sampling.threshold={tau}", x=tau)
    for tau in (0.0, 0.3, 0.5, 0.7, 0.9)
)
# Fig. 14 compares the baseline, the best WSTAG system (clustering + self-supervision, with
# its teacher) and SSTAG on one pair: labels as the figure's legend.
FIG14 = (
    Row("sentence_amean_tmean", "baseline WSTAG (A-Mean + T-Mean)", SENTENCE),
    Row("phrase_clustering", "clustering-based sampling (the teacher)", PHRASE),
    Row("phrase_clustering_self", "proposed WSTAG (clustering + self-supervision)", PHRASE,
        teacher="phrase_clustering"),
    Row("sstag_all", "SSTAG", STRONG),
)
FIG14_MODELS = ("sentence_amean_tmean", "phrase_clustering_self", "sstag_all")

# Table V: the query-graph model with cross-modal attention (QGCA, the paper's reference
# [58]) in the paper's framework, under weak labels (clustering-based sampling, as the paper)
# and strong labels. The paper's CRNN-w2vmean row is Table II's clustering + self-supervision;
# the like-for-like comparison of the text side under weak labels is the row without
# self-supervision (the same sampler, the same budget), and under strong labels Table II's SSTAG.
TABLE5 = (
    Row("phrase_clustering", "CRNN-w2vmean, clustering-based sampling (Table II)", PHRASE, (52.9, 54.2, 44.4, 49.3)),
    Row("phrase_clustering_self", "CRNN-w2vmean, clustering + self-supervision (the paper's Table V row)", PHRASE,
        (56.5, 57.1, 47.6, 51.7), teacher="phrase_clustering"),
    Row("qgca_wstag", "CRNN-QGCA, clustering-based sampling", PHRASE, (32.7, 26.3, 5.9, 5.3)),
    Row("sstag_all", "CRNN-w2vmean (Table II's SSTAG)", STRONG, (58.0, 52.6, 45.0, 39.9)),
    Row("qgca_sstag", "CRNN-QGCA", STRONG, (62.8, 53.1, 49.8, 38.4)),
)


def table5_conclusions(results: Mapping[str, list[dict]]) -> list[str]:
    """The paper's lesson of Table V: QGCA loses under weak labels and wins under strong ones."""
    out = []
    for metric in ("psds_whole", "psds_short"):
        d = paired_difference(results, "qgca_wstag", "phrase_clustering", metric)
        out.append(f"Under WSTAG, QGCA is below the word-embedding mean ({metric}): "
                   + _verdict(_negated(d), "phrase_clustering - qgca_wstag"))
    for metric in ("psds_whole", "psds_short"):
        d = paired_difference(results, "qgca_sstag", "sstag_all", metric)
        out.append(f"Under SSTAG, QGCA beats the word-embedding mean ({metric}): "
                   + _verdict(d, "qgca_sstag - sstag_all"))
    d = paired_difference(results, "qgca_sstag", "qgca_wstag", "psds_short")
    out.append("QGCA needs strong labels (its SSTAG above its WSTAG, PSDS short): "
               + _verdict(d, "qgca_sstag - qgca_wstag"))
    return out


# Issue 11's question, why advanced sampling lost to random here: n for similarity sampling
# and Alg. 2's cluster draw (tau and the embeddings are Figs. 12 and 10).
SAMPLING_STUDY = (
    Row("phrase_random", "random, n 32", PHRASE, (43.7, 46.5, 34.5, 43.2)),
    _variant("phrase_random_n8", "phrase_random", "random, n 8", "training.n_phrases=8"),
    _variant("phrase_random_class_oracle", "phrase_random",
             "random minus the positives' true classes (oracle, n 32)", "sampling.strategy=class_oracle"),
    Row("phrase_similarity", "similarity, SBERT, tau 0.5, n 32", PHRASE, (52.6, 53.9, 43.7, 48.5)),
    _variant("phrase_similarity_n8", "phrase_similarity", "similarity, SBERT, tau 0.5, n 8", "training.n_phrases=8"),
    _variant("phrase_similarity_n16", "phrase_similarity", "similarity, SBERT, tau 0.5, n 16",
             "training.n_phrases=16"),
    _variant("phrase_similarity_tau03", "phrase_similarity", "similarity, SBERT, tau 0.3, n 32",
             "sampling.threshold=0.3"),
    _variant("phrase_similarity_tau07", "phrase_similarity", "similarity, SBERT, tau 0.7, n 32",
             "sampling.threshold=0.7"),
    _variant("phrase_similarity_clap", "phrase_similarity", "similarity, CLAP (the paper's), tau 0.5, n 32",
             "sampling.embeddings=clap"),
    Row("phrase_clustering", "clustering, SBERT, proportional draw", PHRASE, (52.9, 54.2, 44.4, 49.3)),
    _variant("phrase_clustering_uniform", "phrase_clustering", "clustering, SBERT, uniform draw (Alg. 2 as printed)",
             "sampling.cluster_draw=uniform"),
)


def sampling_conclusions(results: Mapping[str, list[dict]]) -> list[str]:
    """What each factor of the sampling study does to PSDS whole and short, against its reference row."""
    pairs = [
        ("phrase_random_n8", "phrase_random", "random sampling: n 8 instead of 32"),
        ("phrase_similarity_n8", "phrase_similarity", "similarity sampling: n 8 instead of 32"),
        ("phrase_similarity_n16", "phrase_similarity", "similarity sampling: n 16 instead of 32"),
        ("phrase_similarity_tau03", "phrase_similarity", "similarity sampling: tau 0.3 instead of 0.5"),
        ("phrase_similarity_tau07", "phrase_similarity", "similarity sampling: tau 0.7 instead of 0.5"),
        ("phrase_similarity_clap", "phrase_similarity", "similarity sampling: the paper's CLAP instead of SBERT"),
        ("phrase_clustering_uniform", "phrase_clustering", "clustering: Alg. 2's uniform cluster draw instead of "
                                                           "the proportional one"),
        ("phrase_random_class_oracle", "phrase_random", "random sampling without its same-class false negatives "
                                                        "(the class oracle, what a perfect Alg. 1 would remove)"),
        ("phrase_similarity", "phrase_random_class_oracle", "similarity (SBERT) instead of the class oracle"),
        ("phrase_similarity", "phrase_random", "similarity (SBERT) instead of random sampling"),
        ("phrase_clustering", "phrase_random", "clustering (SBERT, proportional) instead of random sampling"),
    ]
    out = []
    for a, b, what in pairs:
        whole, short = compare(results, a, b, "psds_whole"), compare(results, a, b, "psds_short")
        spec = compare(results, a, b, "specificity")
        if whole is None:
            out.append(f"{what}: not measured yet")
        else:
            n = len(paired_seeds(results, a, b, "psds_whole"))
            out.append(f"{what}: PSDS whole {whole:+.1f}, short {short:+.1f}, specificity {spec:+.1f} "
                       f"(paired over {n} seed{'s' * (n != 1)})")
    return out


def _mean(results, key: str, metric: str) -> float | None:
    m, _, n = mean_sd(results.get(key, []), metric)
    return m if n else None


def _on_common_seeds(results, keys: Sequence[str], metric: str) -> dict[str, list[dict]]:
    """``keys``' results on the seeds that every measured one of them has (as ``compare``
    pairs two rows: a row with more seeds is not ranked by seeds the others lack); all of
    their seeds when they share none."""
    measured = [k for k in keys if results.get(k)]
    common = set.intersection(*(set(paired_seeds(results, k, k, metric)) for k in measured)) if measured else set()
    return {k: [r for r in results[k] if not common or r["seed"] in common] for k in measured}


def _ranked(results, rows: Sequence[Row], metric: str) -> list[tuple[float, Row]]:
    """Measured rows, best first, compared on the seeds they share."""
    shared = _on_common_seeds(results, [r.key for r in rows], metric)
    scored = [(m, r) for r in rows if (m := _mean(shared, r.key, metric)) is not None]
    return sorted(scored, key=lambda t: -t[0])


def _best_is(results, rows: Sequence[Row], want: str, metric: str, claim: str) -> list[str]:
    """'``claim``: holds / does not hold / inconclusive', judged on ``want`` against the best other row."""
    ranked = _ranked(results, rows, metric)
    if len(ranked) < len(rows):
        return [f"{claim}: not measured yet ({len(ranked)} of {len(rows)} rows)"]
    label = next(r.label for r in rows if r.key == want)
    rival = next(r for _, r in ranked if r.key != want)  # the best of the others
    d = paired_difference(results, want, rival.key, metric)
    return [f"{claim}: {_decide(d)} here ({label} - {rival.label}, {metric}: {d.text()}"
            f"{_on_four(results, want, rival.key)})"]


def table3_conclusions(results):
    return _best_is(results, TABLE3, "sentence_amax_tmean", "psds_whole",
                    "Max pooling is the best audio pooling for sentence-level WSTAG")


def table4_conclusions(results):
    d_psds = paired_difference(results, "sentence_amax_tmean", "sentence_amax_tsum", "psds_whole")
    d_th = paired_difference(results, "sentence_amax_tmean", "sentence_amax_tsum", "th_auc_whole")
    claim = "Mean and sum text pooling give about the same PSDS, mean a higher Th-AUC"
    if d_psds is None or d_th is None:
        return [f"{claim}: not measured yet"]
    # "about the same" PSDS: the interval holds 0; a higher Th-AUC: its interval lies above 0
    if math.isnan(d_psds.half) or math.isnan(d_th.half):
        verdict = "inconclusive"
    elif d_psds.low > 0 or d_psds.high < 0 or d_th.high < 0:
        verdict = "does not hold"
    else:
        verdict = "holds" if d_th.low > 0 else "inconclusive"
    return [f"{claim}: {verdict} here (mean - sum: PSDS whole {d_psds.text()}; Th-AUC whole {d_th.text()})"]


def table6_conclusions(results):
    return _best_is(results, TABLE6, "phrase_clustering", "psds_short",
                    "K-means is the best clustering algorithm for Alg. 2")


def fig7_conclusions(results):
    out = []
    for series in ("WSTAG (similarity)", "SSTAG"):
        rows = [r for r in FIG7 if r.series == series]
        shared = _on_common_seeds(results, [r.key for r in rows], "psds_short")
        points = sorted((r.x, _mean(shared, r.key, "psds_short")) for r in rows)
        if any(v is None for _, v in points):
            out.append(f"{series}: performance grows with the training data: not measured yet")
            continue
        values = [v for _, v in points]
        grows = all(b >= a - 1.0 for a, b in zip(values, values[1:]))
        early, late = values[2] - values[0], values[3] - values[2]
        measured = "PSDS short " + ", ".join(f"{x:g} %: {v:.1f}" for x, v in points)
        if series == "SSTAG":  # VI-D.1 speaks of WSTAG only: shown for comparison, judged as no claim
            out.append(f"SSTAG for comparison (no claim of the paper), {measured}")
            continue
        out.append(f"{series}: performance grows with the training data, less beyond 50 %: "
                   f"{'holds' if grows and late < early else 'does not hold'} here ({measured})")
    return out


def fig8_conclusions(results):
    out = _best_is(results, FIG8, "phrase_clustering", "psds_short",
                   "Linear softmax is the best pooling for phrase-level WSTAG")
    ranked = _ranked(results, FIG8, "psds_short")
    if len(ranked) == len(FIG8):
        worst = ranked[-1][1]
        out.append(f"Mean pooling is the worst: {'holds' if worst.key.endswith('_mean') else 'does not hold'} "
                   f"here (worst: {worst.label}, {ranked[-1][0]:.1f})")
    return out


def fig9_conclusions(results):
    out = []
    for series in (RANDOM, CLUSTERING):
        rows = [r for r in FIG9 if r.series == series]
        ranked = _ranked(results, rows, "psds_short")
        if len(ranked) < len(rows):
            out.append(f"{series}: the best n is 32 or 64: not measured yet")
            continue
        best = ranked[0][1]
        out.append(f"{series}: the best n is 32 or 64: {'holds' if best.x in (32, 64) else 'does not hold'} here "
                   f"(best n {best.x}, PSDS short " + ", ".join(f"n {r.x}: {m:.1f}" for m, r in
                                                                  sorted(ranked, key=lambda t: t[1].x)) + ")")
    d = paired_difference(results, "phrase_random_n8", "phrase_clustering_n8", "psds_short")
    out.append("At n 8 clustering-based sampling is below random: "
               + _verdict(d, "random - clustering at n 8, PSDS short"))
    return out


def fig10_conclusions(results):
    return [f"CLAP embeddings beat Sentence-BERT for {name} sampling (PSDS short): "
            + _verdict(paired_difference(results, f"phrase_{name}_clap", f"phrase_{name}", "psds_short"),
                       "CLAP - Sentence-BERT")
            for name in (SIMILARITY, CLUSTERING)]


def fig11_conclusions(results):
    return _best_is(results, FIG11, "phrase_clustering", "psds_short",
                    "Performance peaks at n_c = 32 clusters")


def fig12_conclusions(results):
    out = _best_is(results, FIG12, "phrase_similarity", "psds_short", "tau = 0.5 is the best threshold")
    d = paired_difference(results, "phrase_similarity_tau07", "phrase_similarity_tau00", "psds_short")
    out.append("A high tau (0.7; the paper's figure goes to 0.75) beats tau = 0: "
               + _verdict(d, "tau 0.7 - tau 0, PSDS short"))
    return out


@dataclass(frozen=True)
class Group:
    name: str
    title: str
    rows: tuple[Row, ...]
    conclusions: Callable[[Mapping[str, list[dict]]], list[str]]
    note: str = ""
    xlabel: str | None = None  # a figure group: PSDS short against each row's x, one line per series
    #: a figure made from the corpus and phrase embeddings alone (``figures.py``: fig4, fig11,
    #: fig12, fig13), drawn before the rows as ``figures/{name}_corpus.png``
    corpus_figure: str | None = None
    #: a figure drawn from the group's trained models (seed 0) after its rows: ``figures/{name}_models.png``
    model_figure: str | None = None
    figure_models: tuple[str, ...] = ()  # the rows whose seed-0 models that figure draws


GROUPS = {
    "table2": Group("table2", "Table II: WSTAG approaches against SSTAG", TABLE2, table2_conclusions,
                    note="Every row the same epochs. Similarity and clustering sampling embed phrases with "
                         "Sentence-BERT, and Alg. 2 draws clusters in proportion to their phrases: the CLAP "
                         "trained here and Alg. 2's uniform draw let the phrase text predict the label "
                         "(`sampling-diagnosis.md`; the sampling study trains both)."),
    "sampling": Group("sampling", "Sampling study: n, tau, embeddings and Alg. 2's cluster draw", SAMPLING_STUDY,
                      sampling_conclusions,
                      note="Phrase-level WSTAG without self-supervision, Table II's budget; the paper gives "
                           "figures for its Table II settings only (n 32, tau 0.5, CLAP, uniform draw)."),
    "table3": Group("table3", "Table III: audio pooling in sentence-level WSTAG", TABLE3, table3_conclusions,
                    note="Sentence-level WSTAG with T-Mean text pooling and each audio pooling of Eq. 6."),
    "table4": Group("table4", "Table IV: text pooling in sentence-level WSTAG", TABLE4, table4_conclusions,
                    note="A-Max audio pooling with T-Mean or T-Sum text pooling."),
    "table6": Group("table6", "Table VI: clustering algorithms of Alg. 2", TABLE6, table6_conclusions,
                    note="Clustering-based sampling (Sentence-BERT, proportional draw) with 32 clusters; "
                         "the paper reports PSDS short only."),
    "fig7": Group("fig7", "Fig. 7: training data size", FIG7, fig7_conclusions, xlabel="training clips (%)",
                  note="Phrase-level WSTAG with similarity-based sampling (as the paper, so no clustering is "
                       "refitted per share) and SSTAG on 10, 25, 50 and 100 % of the training clips. A share "
                       "trains for the group's epochs divided by the share, so every point has the full "
                       "set's gradient steps (early stopping as every row)."),
    "fig8": Group("fig8", "Fig. 8: audio pooling in phrase-level WSTAG", FIG8, fig8_conclusions,
                  xlabel="audio pooling", note="Clustering-based sampling, each pooling of Eq. 6."),
    "fig9": Group("fig9", "Fig. 9: phrase number n", FIG9, fig9_conclusions, xlabel="phrase number n",
                  note="Random and clustering-based sampling with n = 8, 16, 32, 64 phrases per clip."),
    "fig10": Group("fig10", "Fig. 10: phrase embeddings", FIG10, fig10_conclusions, xlabel="sampling strategy",
                   note="The CLAP trained on the training captions (the paper's choice) against Sentence-BERT "
                        "(all-MiniLM-L6-v2 here, the paper used RoBERTa-large)."),
    "fig11": Group("fig11", "Fig. 11: cluster number n_c", FIG11, fig11_conclusions, xlabel="cluster number n_c",
                   note="Clustering-based sampling (k-means) with 8, 16, 32 and 64 clusters; the k-means "
                        "inertia (and the clusters' agreement with the true classes) of the phrase embeddings "
                        "beside it.", corpus_figure="fig11"),
    "fig12": Group("fig12", "Fig. 12: similarity threshold tau", FIG12, fig12_conclusions,
                   xlabel="similarity threshold tau", corpus_figure="fig12",
                   note="Similarity-based sampling with tau from 0 to 0.9; the density of phrase-pair "
                        "similarities beside it."),
    "table5": Group("table5", "Table V: the query-graph model (QGCA) under weak and strong supervision", TABLE5,
                    table5_conclusions,
                    note="CRNN-QGCA: the CRNN audio encoder with the query-graph text encoder, frame-wise "
                         "cross-modal attention and cross-gating (`docs/qgca.md`), trained as the paper does "
                         "in its own framework: phrase-level WSTAG with clustering-based sampling, and SSTAG. "
                         "The CRNN-w2vmean rows are Table II's (the same runs). Why the verdicts differ from "
                         "the paper's, measured: `table2/qgca-diagnosis.md` (frame diagnosis of both models, "
                         "and how often the benchmark's phrases repeat against AudioGrounding's)."),
    "fig4": Group("fig4", "Fig. 4: phrases per sound class", (), lambda results: [], corpus_figure="fig4",
                  note="The training split's phrase occurrences per sound class (the corpus knows each "
                       "phrase's class)."),
    "fig14": Group("fig14", "Fig. 14: one short test pair, baseline vs best WSTAG vs SSTAG", FIG14,
                   lambda results: [], model_figure="fig14", figure_models=FIG14_MODELS,
                   note="The short-duration test pair drawn with seed 0, each system's frame probability "
                        "(seed 0 models) over the spectrogram; the reference segments shaded."),
    "fig13": Group("fig13", "Fig. 13: negatives drawn under each tau", (), lambda results: [],
                   corpus_figure="fig13", note="Alg. 1's negatives for one training clip, n = 16, per tau."),
}
#: The report's order: the paper's tables, then its figures, then this project's own study.
GROUPS = {k: GROUPS[k] for k in ("table2", "table3", "table4", "table5", "table6", "fig4", "fig7", "fig8", "fig9", "fig10",
                                 "fig11", "fig12", "fig13", "fig14", "sampling")}
