"""Ship a trained model folder inside the package, with a card that says what it is and how good.

``ship_model`` evaluates the folder on a corpus split with the ordinary evaluation
(``evaluate_model``, the path of ``wstag evaluate``), copies the model's own files to
``wstag/pretrained/NAME/`` and writes ``card.json`` and ``MODEL_CARD.md`` beside them:
the training and evaluation corpus hashes, the config hash, seed, epochs, code commits,
the test figures and the words the model knows. An open-vocabulary model (a ``minilm``
text encoder) is also evaluated with unseen wordings (``wstag evaluate --wordings``), and
its card holds those figures too. Re-shipping under the same name replaces
the folder whole (built beside it, then swapped in), so no file of an older model stays.
The README carries a copy of the card's summary between two markers, refreshed too.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from wstag.data.corpus import CORPUS_INFO, Corpus
from wstag.errors import ConfigError, ModelFolderError
from wstag.experiments.model_sounds import render_sounds_table, training_sounds
from wstag.files import atomic_open, swap_folder
from wstag.inference.evaluate import METRIC_KEYS, evaluate_model
from wstag.inference.wording_metrics import WORDING_KEYS
from wstag.models.checkpoint import CONFIG, VOCAB, WEIGHTS
from wstag.provenance import code_commit, config_hash
from wstag.shipped import CARD_JSON, CARD_MD, PRETRAINED_DIR, resolve_model
from wstag.text.vocabulary import Vocabulary

CARD_FORMAT = "wstag-model-card"
CARD_VERSION = 1
#: The files of a model folder that ship (metrics.json does not: the card holds the figures).
MODEL_FILES = (WEIGHTS, CONFIG, VOCAB)
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]*")
#: The counts of an unseen-wording evaluation a card keeps beside its figures.
WORDING_COUNTS = ("unseen_wording_pairs", "unseen_wording_refused_pairs", "unseen_wording_seed")
METRIC_LABELS = {
    "psds_whole": "PSDS whole", "th_auc_whole": "Th-AUC whole", "psds_short": "PSDS short",
    "th_auc_short": "Th-AUC short", "psds_whole_wrong_query": "PSDS whole, wrong query (control)",
    "specificity": "specificity (PSDS whole minus wrong query)",
    "psds_whole_loudness": "PSDS whole, loudness as the score (control, no model)",
}


@dataclass(frozen=True)
class ShipResult:
    folder: Path
    card: dict[str, Any]
    readme_updated: bool


def check_name(name: str) -> str:
    """A shipped model's name: lower-case letters, digits, ``-`` and ``_`` (it becomes a folder)."""
    if not NAME_PATTERN.fullmatch(name):
        raise ConfigError(f"model name {name!r} must be lower-case letters, digits, '-' or '_', "
                          "starting with a letter or digit")
    return name


def corpus_info(data_dir: Path) -> dict[str, Any]:
    """The corpus's corpus.json (``wstag data build`` writes it); the card needs its content hash."""
    corpus = Corpus(data_dir)
    info = corpus.info()
    if info is None:
        raise ConfigError(f"{data_dir}: no {CORPUS_INFO}, so no corpus hash for the model card "
                          "(evaluate on a corpus from `wstag data build`)")
    if not info.get("content_hash"):
        raise ConfigError(f"{corpus.info_path}: has no content_hash")
    return info


def count_parameters(weights: Path) -> int:
    from safetensors import safe_open

    total = 0
    with safe_open(str(weights), framework="pt") as fh:
        for key in fh.keys():
            n = 1
            for d in fh.get_slice(key).get_shape():
                n *= d
            total += n
    return total


def known_words(vocab: Vocabulary) -> list[str]:
    """The vocabulary's words, sorted, without punctuation tokens (a comma is not a word to query)."""
    return sorted(w for w in vocab.words if any(ch.isalnum() for ch in w))


def text_encoder_kind(config: dict[str, Any]) -> str:
    """``word`` (knows its vocabulary only) or an open-vocabulary kind such as ``minilm``."""
    section = (config.get("model") or {}).get("text_encoder") or {}
    return section.get("kind", "word") if isinstance(section, dict) else "word"


def measures_wordings(config: dict[str, Any]) -> bool:
    """Whether shipping evaluates with unseen wordings too: for an open-vocabulary text encoder,
    which answers them (a word-embedding model refuses every one, so its card stays without)."""
    return text_encoder_kind(config) != "word"


def query_coverage(vocab: Vocabulary, labels: Path) -> dict[str, int]:
    """How many of a labels file's phrases a word-embedding model can be asked: ``refused``, with no
    known word that names a sound (`wstag ground` refuses them; the evaluation scores them through
    ``<unk>``, i.e. noise), and ``some_unknown``, asked without some of their words."""
    from wstag.data.audiogrounding import read_v2
    from wstag.text.queries import unknown_words_or_refused

    unknown = [unknown_words_or_refused(vocab, p.text) for clip in read_v2(labels) for p in clip.phrases]
    return {"phrases": len(unknown), "refused": sum(u is None for u in unknown),
            "some_unknown": sum(bool(u) for u in unknown)}


def evaluation_section(name: str, data_dir: Path, split: str, metrics: dict[str, Any],
                       vocab: Vocabulary | None = None) -> dict[str, Any]:
    """What the card says about one evaluation: the corpus (and how to rebuild it), the command, the
    figures, and for a word-embedding model (``vocab``) how many of the split's phrases it can be asked."""
    corpus = corpus_info(data_dir)
    build = (f"wstag data build --preset {corpus['preset']} --out DIR --seed {corpus['seed']}"
             if "preset" in corpus and "seed" in corpus else None)
    wordings = "psds_whole_unseen_wording" in metrics  # evaluated with --wordings
    section = {
        "corpus_hash": corpus["content_hash"],
        "corpus_preset": corpus.get("preset"),
        "corpus_seed": corpus.get("seed"),
        "corpus_sizes": corpus.get("sizes"),
        "build_corpus": build,
        "split": split,
        "command": f"wstag evaluate {name} --data DIR --split {split}" + (" --wordings" if wordings else ""),
        "code_commit": code_commit(),
        "metrics": {k: metrics[k] for k in (*METRIC_KEYS, *(WORDING_KEYS if wordings else ())) if k in metrics},
        "n_pairs_whole": metrics.get("n_pairs_whole"),
        "n_pairs_short": metrics.get("n_pairs_short"),
        "th_auc_convention": metrics.get("th_auc_convention"),
    }
    if wordings:  # beside n_pairs_whole: the pairs asked with an unseen wording, and how many were refused
        section.update({k: metrics.get(k) for k in WORDING_COUNTS})
    if vocab is not None:
        section["query_coverage"] = query_coverage(vocab, Corpus(data_dir).labels(split))
    return section


def build_card(name: str, model_dir: Path, data_dir: Path, split: str, metrics: dict[str, Any],
               also: Sequence[tuple[Path, dict[str, Any]]] = ()) -> dict[str, Any]:
    """Everything the card says, from the model folder, the corpora and the figures just measured.

    ``also`` holds the further corpora the model was measured on (each with its figures), beside
    the main one: a model trained on the `world` preset is measured on `small` too. When one of
    the corpora is the model's training corpus, the card lists the sounds its captions named.
    """
    config = json.loads((model_dir / CONFIG).read_text(encoding="utf-8"))
    experiment = config.get("experiment") or {}
    training = experiment.get("training") or {}
    evaluations = [(Path(data_dir), metrics), *((Path(d), m) for d, m in also)]
    trained_on = next((d for d, _ in evaluations if corpus_info(d)["content_hash"] == config.get("corpus_hash")), None)
    trained_preset = corpus_info(trained_on).get("preset") if trained_on is not None else None
    vocab = Vocabulary.load(model_dir / VOCAB) if text_encoder_kind(config) == "word" else None
    card = {
        "format": CARD_FORMAT,
        "version": CARD_VERSION,
        "name": name,
        "load": {"python": f'Grounder.load("{name}")', "cli": f'wstag ground {name} AUDIO "a dog barks"'},
        "training": {
            "experiment": experiment.get("name"),
            "model_preset": (experiment.get("model") or {}).get("preset"),
            "config_hash": config.get("config_hash") or (config_hash(experiment) if experiment else None),
            "seed": config.get("seed", training.get("seed")),
            "epochs": config.get("epochs"),
            "monitor": config.get("monitor"),
            "best_score": config.get("best_score"),
            "train_seconds": config.get("train_seconds"),
            "code_commit": config.get("code_commit"),  # None: the folder predates recording it
            "corpus_hash": config.get("corpus_hash"),
            "corpus_preset": trained_preset,
        },
        "evaluation": evaluation_section(name, Path(data_dir), split, metrics, vocab),
        "also_evaluated": [evaluation_section(name, d, split, m, vocab) for d, m in evaluations[1:]],
        "model": {
            "parameters": count_parameters(model_dir / WEIGHTS),
            "bytes": sum((model_dir / f).stat().st_size for f in MODEL_FILES),
            "text_encoder": text_encoder_kind(config),
        },
        "shipped_from": str(model_dir),
        "shipped_on": _dt.date.today().isoformat(),
        # None: an open-vocabulary text encoder reads any words
        "known_words": known_words(vocab) if vocab is not None else None,
        # None: none of the corpora it was measured on is its training corpus
        "sounds": training_sounds(trained_on, trained_preset) if trained_on is not None else None,
    }
    return card


def evaluations(card: dict[str, Any]) -> list[dict[str, Any]]:
    """The card's evaluations, the main one first (a card written before ``also_evaluated`` has one)."""
    return [card["evaluation"], *card.get("also_evaluated", [])]


def _corpus_label(e: dict[str, Any]) -> str:
    return f"{e['corpus_preset'] or 'corpus'} `{e['corpus_hash']}`"


def _figures_table(card: dict[str, Any]) -> str:
    """The test figures: one column per corpus the model was measured on, the main one first."""
    evals = evaluations(card)
    if len(evals) == 1:
        head = "| test figure (%) | value |\n|---|---|\n"
    else:
        head = ("| test figure (%) | " + " | ".join(_corpus_label(e) for e in evals) + " |\n|---|"
                + "---|" * len(evals) + "\n")
    rows = "\n".join(f"| {METRIC_LABELS[k]} | " + " | ".join(_fig(e["metrics"].get(k)) for e in evals) + " |"
                     for k in METRIC_KEYS)
    labels = [_corpus_label(e) if len(evals) > 1 else None for e in evals]  # one corpus: lines name none
    lines = "".join(_wordings_line(e, label) + _coverage_line(e, label) for e, label in zip(evals, labels))
    return f"{head}{rows}\n" + lines


def _fig(value: Any) -> str:
    return "-" if value is None else f"{value:.1f}"


def _wordings_line(e: dict[str, Any], corpus: str | None = None) -> str:
    """One line under the figures for an evaluation with unseen wordings; nothing otherwise."""
    m = e["metrics"]
    if "psds_whole_unseen_wording" not in m:
        return ""
    return (
        "\nUnseen wordings" + (f" on {corpus}" if corpus else "")
        + " (`--wordings`: each test pair asked again with a held-out wording of its class, "
        'whose words no training caption uses, e.g. "a canine yelps" for "a dog barks"): PSDS whole '
        f"{_fig(m['psds_whole_unseen_wording'])} against {_fig(m.get('psds_whole_seen_wording'))} with the "
        f"seen wording ({_fig(m.get('unseen_to_seen_percent'))} %), specificity "
        f"{_fig(m.get('unseen_wording_specificity'))} (unseen minus wrong query); "
        f"{e.get('unseen_wording_refused_pairs')} of {e.get('unseen_wording_pairs')} pairs refused.\n"
    )


def _coverage_line(e: dict[str, Any], corpus: str | None = None) -> str:
    """One line under the figures when some of the split's phrases use words the model does not know."""
    c = e.get("query_coverage")
    if not c or not (c["refused"] or c["some_unknown"]):
        return ""
    n = c["phrases"]
    return (
        f"\nWords{f' on {corpus}' if corpus else ''}: {c['refused']} of {n} {e['split']} phrases "
        f"({100 * c['refused'] / n:.1f} %) have no word it knows that names a sound: `wstag ground` refuses "
        f"them, and the figures above score them through `<unk>` (noise); {c['some_unknown']} more "
        f"({100 * c['some_unknown'] / n:.1f} %) are asked without some of their words.\n"
    )


def _provenance_lines(card: dict[str, Any]) -> str:
    t = card["training"]
    preset = f" (preset `{t['corpus_preset']}`)" if t.get("corpus_preset") else ""
    lines = [
        f"- experiment `{t['experiment']}` (model preset `{t['model_preset']}`, config hash `{t['config_hash']}`), "
        f"seed {t['seed']}, {t['epochs']} epochs (kept by {t['monitor']} {_num(t['best_score'])})",
        f"- trained on corpus `{t['corpus_hash']}`{preset} with code "
        + (f"`{t['code_commit']}`" if t["code_commit"] else "(commit not recorded in the model folder)"),
    ]
    for e in evaluations(card):
        lines.append(f"- evaluated on the {e['split']} split of corpus `{e['corpus_hash']}` "
                     f"({e['n_pairs_whole']} pairs whole, {e['n_pairs_short']} short) with code `{e['code_commit']}`")
    lines.append(f"- {card['model']['parameters']:,} parameters, {card['model']['bytes'] / 2**20:.1f} MiB")
    for e in evaluations(card):
        if e["build_corpus"]:
            lines.append(f"- reproduce: `{e['build_corpus']}` (content hash `{e['corpus_hash']}`), "
                         f"then `{e['command']}`")
    return "\n".join(lines) + "\n"


def _num(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _open_vocabulary_line(card: dict[str, Any]) -> str:
    return (f"Open vocabulary: its `{card['model']['text_encoder']}` text encoder reads any words, "
            "not only those of the training captions.\n")


def _sounds_intro(card: dict[str, Any]) -> str:
    sounds = card.get("sounds")
    if not sounds:
        return ""
    return (f"The {len(sounds)} sound classes its training captions named (corpus "
            f"`{card['training']['corpus_hash']}`), most named first: it has heard nothing else. "
            f"`wstag model sounds {card['name']}` lists them, `--under Animal` those under an AudioSet label.\n\n")


def render_card_md(card: dict[str, Any]) -> str:
    """MODEL_CARD.md: what the model is, how it was measured, what it can hear, what it knows."""
    words = card["known_words"]
    text = (
        f"# Shipped model `{card['name']}`\n\n"
        f"Load it by name: `{card['load']['python']}` or `{card['load']['cli']}`.\n"
        f"Written by `wstag model ship` on {card['shipped_on']} from `{card['shipped_from']}`; "
        f"the same facts as JSON: `{CARD_JSON}`.\n\n"
        f"{_provenance_lines(card)}\n"
        f"{_figures_table(card)}\n"
    )
    if card.get("sounds"):
        text += (f"## What it can hear ({len(card['sounds'])} sound classes)\n\n{_sounds_intro(card)}"
                 f"{render_sounds_table(card['sounds'])}\n")
    if words is None:
        return text + _open_vocabulary_line(card)
    return text + (
        f"## Words it knows ({len(words)})\n\n"
        "Its text encoder embeds these words (from the training captions); a phrase keeps its known words "
        "and a phrase with none is refused.\n\n"
        f"{', '.join(words)}\n"
    )


def readme_markers(name: str) -> tuple[str, str]:
    return f"<!-- shipped model {name}: begin (written by `wstag model ship`) -->", f"<!-- shipped model {name}: end -->"


def render_readme_block(card: dict[str, Any]) -> str:
    """The README's copy of the card: provenance, figures, the sounds and the known words (folded)."""
    words = card["known_words"]
    text = f"{_provenance_lines(card)}\n{_figures_table(card)}\n"
    if card.get("sounds"):
        text += (f"<details><summary>The {len(card['sounds'])} sound classes it can hear</summary>\n\n"
                 f"{_sounds_intro(card)}{render_sounds_table(card['sounds'])}\n</details>\n\n")
    if words is None:
        return text + _open_vocabulary_line(card)
    return text + (
        f"<details><summary>The {len(words)} words it knows</summary>\n\n"
        f"{', '.join(words)}\n\n"
        "</details>\n"
    )


def update_readme(readme: Path, card: dict[str, Any]) -> bool:
    """Replace the text between the README's markers for this model; False when it has none."""
    begin, end = readme_markers(card["name"])
    text = readme.read_text(encoding="utf-8")
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        return False
    new = text[: start + len(begin)] + "\n" + render_readme_block(card) + text[stop:]
    if new != text:
        with atomic_open(readme, encoding="utf-8") as fh:
            fh.write(new)
    return True


def _swap_in(staged: Path, target: Path) -> None:
    """Put ``staged`` at ``target``, replacing a folder there whole."""
    swap_folder(staged, target)


def ship_model(
    model_dir: str | os.PathLike, data_dir: str | os.PathLike, name: str = "default", split: str = "test",
    into: str | os.PathLike = PRETRAINED_DIR, readme: str | os.PathLike | None = None,
    progress: Callable | None = None, also: Sequence[str | os.PathLike] = (),
) -> ShipResult:
    """Evaluate ``model_dir`` on ``data_dir``'s ``split`` (and on each corpus of ``also``), then ship
    it as ``into/name`` with its card."""
    check_name(name)
    model_dir, data_dir, into = resolve_model(model_dir), Path(data_dir), Path(into)
    missing = [f for f in MODEL_FILES if not (model_dir / f).is_file()]
    if missing:
        raise ModelFolderError(f"model folder {model_dir} lacks {', '.join(missing)}")
    others = [Path(d) for d in also]
    for folder in (data_dir, *others):
        corpus_info(folder)  # before the minutes of evaluation: no hash, no card
    config = json.loads((model_dir / CONFIG).read_text(encoding="utf-8"))
    measured = [(folder, evaluate_model(model_dir, folder, split, progress=progress, write_json=False,
                                        wordings=measures_wordings(config))) for folder in (data_dir, *others)]
    card = build_card(name, model_dir, data_dir, split, measured[0][1], also=measured[1:])
    into.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{name}.partial-", dir=into))
    try:
        for f in MODEL_FILES:
            shutil.copyfile(model_dir / f, staged / f)
        (staged / CARD_JSON).write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        (staged / CARD_MD).write_text(render_card_md(card), encoding="utf-8")
        staged.chmod(0o755)  # mkdtemp makes it private; a package folder is readable by all
        for f in staged.iterdir():
            f.chmod(0o644)
        _swap_in(staged, into / name)
    finally:
        if staged.exists():
            shutil.rmtree(staged)
    readme_updated = update_readme(Path(readme), card) if readme is not None and Path(readme).is_file() else False
    return ShipResult(into / name, card, readme_updated)


def read_card(folder: str | os.PathLike) -> dict[str, Any]:
    """A shipped model's card.json."""
    path = Path(folder) / CARD_JSON
    if not path.is_file():
        raise ModelFolderError(f"{folder}: no {CARD_JSON} (not a shipped model)")
    return json.loads(path.read_text(encoding="utf-8"))
