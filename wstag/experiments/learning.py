"""Why the model learns little from its captions: a ladder of controlled runs (issue 24).

Every rung is the demo's recipe (``configs/phrase_random_cpu_minilm.yaml``) on the same
corpus, under the same epochs and seeds, with one thing changed; each row-seed is a
result file of ``runner.run_group`` (resumable, config hash, seed, epochs, seconds,
corpus hash, code commit), and ``write_learning_report`` turns them into
``reports/learning.md``: per rung the training and validation tag AUC (clip level,
positives against sampled negatives), PSDS whole and short, specificity, their mean and
spread over seeds, and the paired difference to the base rung with a 95 % t-interval
over seeds, so that no verdict rests on one seed.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any, Mapping, Sequence

from wstag.experiments.report import Difference, paired_difference, seed_spread
from wstag.experiments.runner import GroupRun, Row
from wstag.files import atomic_open

DEMO = "phrase_random_cpu_minilm"
WORD_DEMO = "phrase_random_cpu"  # the same recipe with the paper's word-embedding mean
BASE = "learn_base"
SECTION = "Learning ladder"


def _rung(key: str, label: str, *overrides: str, config: str = DEMO) -> Row:
    return Row(key, label, SECTION, config=config, overrides=overrides)


SCALE = ("model.similarity.learned=true", "model.similarity.scale=4.0")
NO_DROPOUT = ("model.audio_encoder.block_dropout=0.0", "model.audio_encoder.frame_dropout=0.0")
SIMILARITY = ("sampling.strategy=similarity", "sampling.embeddings=sbert", "sampling.threshold=0.5")
ADAMW = ("training.optimizer=adamw", "training.weight_decay=0.01", "training.warmup_epochs=1.0")

LADDER = (
    _rung(BASE, "the demo's recipe (paper Eq. 7, Adam, dropout 0.2 / 0.5, SpecAugment)"),
    _rung("learn_scale", "+ a learned logit scale (init 4) and bias (init 0)", *SCALE),
    _rung("learn_nodropout", "no dropout in the CRNN", *NO_DROPOUT),
    _rung("learn_adamw", "AdamW, weight decay 0.01, 1 warm-up epoch", *ADAMW),
    # calibration across queries: a logit bias learned from the prior, and the paper's n = 32 with it
    _rung("learn_bias", "a learned logit scale and bias started at the paper's form (scale 1, bias 0)",
          "model.similarity.learned=true"),
    _rung("learn_n32", "n 32 phrases per clip (the paper's), paper form", "training.n_phrases=32"),
    _rung("learn_n32_bias", "n 32, a learned logit scale and bias started at the log-odds of 4 positives in 32",
          "training.n_phrases=32", "model.similarity.learned=true", "model.similarity.bias=-1.95"),
    # localisation: how much the BiGRU's clip-wide context spreads a phrase over the clip
    _rung("learn_nogru", "no BiGRU: each frame from the CNN's few hundred ms only (a diagnostic)",
          "model.audio_encoder.temporal=none"),
    # localisation from the captions alone: clips joined in time, each half scored on its own phrases
    _rung("learn_splice", "half the training clips joined in time with another, each half scored on its own "
          "phrases and the other's positives as negatives", "training.splice=0.5"),
    _rung("learn_splice_all", "every training clip joined in time with another (splice 1.0)", "training.splice=1.0"),
    _rung("learn_splice_adamw", "spliced clips (0.5) with AdamW, weight decay 0.01, 1 warm-up epoch",
          "training.splice=0.5", *ADAMW),
    # pre-training (paper V-B: "we pre-train the audio encoder on AudioSet"; SPEC 1: no such
    # weights here). Diagnostics: the encoder of a model trained on this corpus's train split
    # first, with weak class tags (AudioSet's clip labels) or with strong labels (the authors'
    # configs load an AudioSet strong-label CRNN). Paths relative to the repository root.
    _rung("learn_pre_tagger", "audio encoder pre-trained as the 47-class clip tagger (learn_tagger seed 0: "
          "weak class tags, no timestamps)",
          "model.audio_encoder.pretrained=runs/learning/models/learn_tagger-seed0/model.safetensors"),
    _rung("learn_pre_sstag", "audio encoder pre-trained with strong labels (sstag_all seed 0, the same train "
          "split's segments: not a weakly supervised system)",
          "model.audio_encoder.pretrained=reports/table2/runs/models/sstag_all-seed0/model.safetensors"),
    # the authors' code (wsntxxn/TextToAudioGrounding, models/match.py DotProduct) divides the dot
    # product by sqrt(d) before the sigmoid: 1 / sqrt(128) for the cpu_fast embedding
    _rung("learn_sqrt_scale", "logits a_t . t_n / sqrt(d), as the authors' code (fixed scale 1 / sqrt(128))",
          "model.similarity.scale=0.08838834764831845"),
    # recordings, not scenes (seen-recordings.md: new scenes of the training recordings ground as well as
    # the training clips, recordings never heard far worse): each training clip sounds like another take
    _rung("learn_recaug", "recording augmentation: mel shift up to 2 bins, FilterAugment up to 6 dB, level "
          "up to 6 dB per training clip (wstag.audio.augment)", "model.audio_encoder.freq_shift=2",
          "model.audio_encoder.filter_gain_db=6.0", "model.audio_encoder.level_db=6.0"),
    # the same, on the waveform and per event (scapes.takes): each training event another take, the scenes,
    # captions, val and test of the base corpus unchanged
    Row("learn_takes", "each training event another take of its recording (up to 2 semitones faster or slower, "
        "2 peaking filters up to 6 dB): the corpus rebuilt with `wstag data build --event-takes`, val and test "
        "byte-identical", SECTION, config=DEMO, corpus_key="event_takes"),
    # the dose-response of distinct sources: the training clips mixed from each class's 1 or 2 largest source
    # groups (`wstag data build --train-groups N`), val and test those of the base corpus
    *(Row(f"learn_groups{n}", f"the training clips mixed from each class's {n} largest source group{'s' * (n > 1)} "
          f"only (`wstag data build --train-groups {n}`), val and test byte-identical", SECTION, config=DEMO,
          corpus_key=f"train_groups={n}") for n in (1, 2)),
    # false negatives: on the world preset a fifth of random negatives paraphrase a positive
    # (results/world_preset/likeness.md), which MiniLM embeds next to it; Alg. 1 drops them
    _rung("learn_sim", "similarity-based sampling (Alg. 1: no negative within Sentence-BERT cosine 0.5 of a "
          "positive)", *SIMILARITY),
    Row("learn_sim_self", "similarity-based sampling, self-supervision (Eq. 9-10) with learn_sim of the same "
        "seed as teacher", SECTION, teacher="learn_sim", config=DEMO,
        overrides=(*SIMILARITY, "training.regime=self_supervised")),
    # the paper's own answer to missing frame labels: self-supervision (Eq. 9-10), the base as teacher
    Row("learn_self", "self-supervision (Eq. 9-10) with the base rung's model of the same seed as teacher",
        SECTION, teacher=BASE, config=DEMO, overrides=("training.regime=self_supervised",)),
    # self-supervision trains twice (teacher, then student): the base with that compute
    Row("learn_base24", "the demo's recipe for 24 epochs (the compute of teacher + student)", SECTION,
        config=DEMO, epoch_scale=2.0),
    # capacity: is the 157 k-parameter CRNN what stops it fitting its 2,000 training clips?
    _rung("learn_wide", "a 4x wider CRNN (channels 16-128, 256-d frames: 626 k audio parameters against 157 k)",
          "model.audio_encoder.channels=[16,32,64,128]", "model.audio_encoder.embed_dim=256",
          "model.audio_encoder.gru_hidden=128", "model.text_encoder.embed_dim=256"),
    # the budget: the demo's recipe to convergence (the paper's early stopping: patience 10, at most 100)
    _rung("learn_converge", "the demo's recipe to convergence (at most 100 epochs, patience 10)",
          "training.max_epochs=100", "training.early_stop_patience=10"),
    # the text side: what the paper's encoder and a perfect one (one vector per sound class) give
    _rung("learn_word", "word-embedding mean text encoder (the paper's) instead of MiniLM", config=WORD_DEMO),
    # the shipped `default` model's recipe: the paper's text encoder, then self-supervision from it
    Row("learn_word_self", "word-embedding mean text encoder, self-supervision (Eq. 9-10) with learn_word of "
        "the same seed as teacher", SECTION, teacher="learn_word", config=WORD_DEMO,
        overrides=("training.regime=self_supervised",)),
    _rung("learn_class", "one embedding per sound class (a perfect text side), random negatives",
          "model.text_encoder.kind=class", config=WORD_DEMO),
    # the audio side alone: the same CRNN as a weakly labelled 47-class clip tagger (DCASE weak-label SED)
    _rung("learn_tagger", "clip tagger: one embedding per class, every absent class a negative (n 48)",
          "model.text_encoder.kind=class", "sampling.strategy=all_classes", "training.n_phrases=48",
          config=WORD_DEMO),
)
RUNGS = {r.key: r for r in LADDER}

METRICS = (("psds_whole", "PSDS whole"), ("psds_short", "PSDS short"), ("specificity", "specificity"))

def last(values: Sequence[float | None]) -> float | None:
    """The last recorded value of a curve (None if it has none)."""
    kept = [v for v in values if v is not None]
    return kept[-1] if kept else None


def curve_value(result: dict, metric: str, how: str = "last") -> float:
    values = [v for v in (result.get("curves", {}).get(metric) or []) if v is not None]
    if not values:
        return math.nan
    return values[-1] if how == "last" else max(values)


def _mean_sd(values: Sequence[float]) -> tuple[float, float, int]:
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return math.nan, math.nan, 0
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0, len(values)


def _cell(values: Sequence[float], digits: int = 1) -> str:
    m, sd, n = _mean_sd(values)
    if n == 0:
        return "-"
    return f"{m:.{digits}f} ± {sd:.{digits}f}" if n > 1 else f"{m:.{digits}f}"


def verdict(d: Difference | None) -> str:
    """better / worse when the 95 % interval of the paired difference excludes 0, inconclusive otherwise."""
    if d is None:
        return "-"
    return f"{d.text()}: {({1: 'better', -1: 'worse', 0: 'inconclusive'})[d.side()]}"


def ladder_table(rungs: Sequence[Row], results: Mapping[str, list[dict]],
                 spread_from: Mapping[str, list[dict]] | None = None) -> str:
    head = ("| rung | what changed | seeds | tag AUC train (last) | tag AUC val (best) | PSDS whole | PSDS short "
            "| specificity | PSDS short vs base (95 % CI) |\n|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for row in rungs:
        rs = results.get(row.key, [])
        if not rs:
            lines.append(f"| {row.key} | {row.label} | 0 | not run yet | | | | | |")
            continue
        train = _cell([curve_value(r, "train/tag_auc") for r in rs], 3)
        val = _cell([curve_value(r, "val/tag_auc", "best") for r in rs], 3)
        figures = " | ".join(_cell([r["metrics"][k] for r in rs]) for k, _ in METRICS)
        vs = "(the base)" if row.key == BASE else verdict(paired_difference(results, row.key, BASE, "psds_short",
                                                                         spread_from))
        lines.append(f"| {row.key} | {row.label} | {len(rs)} | {train} | {val} | {figures} | {vs} |")
    return "\n".join(lines)


def paired_table(rungs: Sequence[Row], results: Mapping[str, list[dict]]) -> str:
    """Every rung with three seeds or more against the base, on each metric (a t-interval over seeds)."""
    judged = [r for r in rungs if r.key != BASE and len(results.get(r.key, [])) >= 3]
    if not judged or len(results.get(BASE, [])) < 3:
        return ""
    lines = ["| rung | " + " | ".join(f"{label} vs base (95 % CI)" for _, label in METRICS) + " |",
             "|---|" + "---|" * len(METRICS)]
    for row in judged:
        cells = [verdict(paired_difference(results, row.key, BASE, key)) for key, _ in METRICS]
        lines.append(f"| {row.key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def all_rows(out: Path) -> dict[str, list[dict]]:
    """Every row file in ``out/rows``, by row key."""
    found: dict[str, list[dict]] = {}
    for p in sorted((Path(out) / "rows").glob("*-seed*.json")):
        r = json.loads(p.read_text())
        found.setdefault(r["row"], []).append(r)
    return found


def write_learning_report(out: Path, path: Path, notes: str = "", rungs: Sequence[Row] = LADDER,
                          spread_rows: Path | None = None) -> Path:
    """``path`` (markdown) from the row files in ``out/rows``: the ladder's table and ``notes``.

    ``spread_rows``: another folder of row files measured on the same corpus and budget (the
    paper's tables, several seeds per row) whose seed spread, pooled with the ladder's own,
    sizes the intervals of rungs with fewer than three seeds.
    """
    rows_dir = Path(out) / "rows"
    seeds = sorted({int(p.stem.rsplit("-seed", 1)[1]) for p in rows_dir.glob("*-seed*.json")}) if rows_dir.is_dir() else []
    results = GroupRun(Path(out), Path(out)).results(rungs, seeds)
    spread_from = {**all_rows(spread_rows), **results} if spread_rows is not None else None
    commits = sorted({r["code_commit"] for rs in results.values() for r in rs})
    corpora = sorted({str(r["corpus_hash"]) for rs in results.values() for r in rs})
    epochs = sorted({r["epochs"] for rs in results.values() for r in rs})
    text = "\n".join([
        "# The learning ladder: why the model learns little from its captions\n",
        "Each rung is the demo's recipe (`configs/phrase_random_cpu_minilm.yaml`, cpu_fast CRNN, MiniLM text "
        "encoder, random negatives, n 8, linear-softmax pooling, EMA 0.99) with one change, on the `small` "
        "corpus, the same epochs and seeds. Figures are means ± sd over seeds, read from the row files in "
        f"`{rows_dir}`. Tag AUC: clip-level ROC AUC of positives against the sampled negatives; *train* is "
        "measured on the epoch's training batches as the optimiser saw them (dropout and augmentation on), "
        "*val* on the validation split (recordings never heard in training) with the EMA weights. The last "
        "column is the paired difference to the base rung over common seeds with its 95 % interval (a t-interval "
        "over seeds from three seeds on; below that from the pooled seed spread of the rungs with two seeds or "
        "more, REPORT.md's rule): *better* or *worse* only when the interval excludes 0.\n",
        ladder_table(rungs, results, spread_from) + "\n",
        *([f"Rungs with three seeds, on each metric (paired over seeds; the paper's four metrics less Th-AUC, "
           f"which the ladder does not judge on):\n\n{paired}\n"] if (paired := paired_table(rungs, results)) else []),
        *([f"Intervals of rungs with fewer than three seeds use the seed spread pooled over these rungs and the "
           f"rows of `{spread_rows}` (same corpus and budget): PSDS short sd {seed_spread(spread_from, 'psds_short'):.1f}.\n"]
          if spread_from is not None and seed_spread(spread_from, "psds_short") is not None else []),
        notes,
        "## Provenance\n",
        f"Epochs: {', '.join(map(str, epochs)) or '-'}; corpus hash {', '.join(corpora) or '-'}; code commits "
        f"{', '.join(c[:12] for c in commits) or '-'}.\n",
    ])
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path) as fh:
        fh.write(text)
    return path


def overfit(data_dir: Path, clips: int = 64, steps: int = 400, seed: int = 0, config: str = DEMO,
            log=lambda m: None) -> dict[str, Any]:
    """Can the model fit its own data? Train the demo's model on ``clips`` training clips only,
    dropout and augmentation off, and measure the clip-level tag AUC on those clips (eval mode,
    one fixed draw of negatives). A model and loss without a bug reach about 1.0."""
    import time

    import lightning as L
    import numpy as np
    import torch
    from sklearn.metrics import roc_auc_score
    from torch.utils.data import DataLoader, Subset

    from wstag.data.audiogrounding import read_weak_v2
    from wstag.data.corpus import Corpus
    from wstag.models.factory import build_model
    from wstag.provenance import code_commit, config_hash
    from wstag.sampling.random_sampler import RandomNegativeSampler
    from wstag.shipped import CONFIG_DIR
    from wstag.text.vocabulary import Vocabulary
    from wstag.training.config import load_experiment
    from wstag.training.datasets import PhraseLevelDataset, collate_phrase_batch
    from wstag.training.phrase_level import PhraseLevelModule
    from wstag.training.run import prepare_features

    start = time.perf_counter()
    overrides = ["model.preset=cpu_fast", "model.audio_encoder.block_dropout=0.0",
                 "model.audio_encoder.frame_dropout=0.0", "model.audio_encoder.specaugment=false",
                 f"training.seed={seed}"]
    cfg = load_experiment(CONFIG_DIR / f"{config}.yaml", overrides)
    torch.set_num_threads(cfg.training.threads or 2)
    L.seed_everything(seed, verbose=False)
    corpus = Corpus(data_dir)
    train = read_weak_v2(corpus.weak("train"))
    feats, train = prepare_features(corpus.split("train"), train, front_end=cfg.front_end)
    vocab = Vocabulary.build(c.caption for c in train)
    sampler = RandomNegativeSampler([p.text for c in train for p in c.phrases])
    keep = sorted(np.random.default_rng(seed).choice(len(train), clips, replace=False).tolist())
    data = PhraseLevelDataset([train[i] for i in keep], feats, vocab, sampler, cfg.training.n_phrases, seed)
    model = build_model(cfg.model, len(vocab), cfg.front_end, words=vocab.itos)
    module = PhraseLevelModule(model, cfg.training)
    opt = torch.optim.Adam(module.parameters(), lr=cfg.training.lr)
    loader = DataLoader(data, batch_size=cfg.training.batch_size, shuffle=True, collate_fn=collate_phrase_batch,
                        generator=torch.Generator().manual_seed(seed))

    def auc() -> float:
        module.eval()
        data.epoch = 10_000  # one fixed draw of negatives, none of the training draws
        s, y = [], []
        with torch.no_grad():
            for batch in DataLoader(Subset(data, range(len(data))), batch_size=32, collate_fn=collate_phrase_batch):
                p = module._clip_probs(batch)
                s.append(p[batch["phrase_mask"]].numpy())
                y.append(batch["labels"][batch["phrase_mask"]].numpy() > 0.5)
        module.train()
        return float(roc_auc_score(np.concatenate(y), np.concatenate(s)))

    curve, step, epoch = [], 0, 0
    module.train()
    while step < steps:
        data.epoch = epoch
        for batch in loader:
            loss = module._loss(batch)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(module.parameters(), cfg.training.grad_clip)
            opt.step()
            step += 1
            if step % 50 == 0 or step == steps:
                curve.append({"step": step, "loss": round(float(loss.detach()), 4), "tag_auc": round(auc(), 4)})
                log(f"step {step}: loss {curve[-1]['loss']}, tag AUC on its {clips} clips {curve[-1]['tag_auc']}")
            if step >= steps:
                break
        epoch += 1
    return {"what": f"the demo's model ({config}.yaml, cpu_fast, no dropout, no augmentation) trained on {clips} "
                    f"training clips for {steps} steps; tag AUC on those clips, eval mode, one fixed negative draw",
            "config_hash": config_hash(cfg.to_dict()), "seed": seed, "clips": clips, "steps": steps,
            "epochs": epoch, "seconds": round(time.perf_counter() - start, 1), "corpus_hash": corpus.content_hash,
            "code_commit": code_commit(), "curve": curve, "final_tag_auc": curve[-1]["tag_auc"]}
