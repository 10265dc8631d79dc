"""Train the CLAP bi-encoder on the training captions (paper IV-A: no extra data).

Its text tower supplies the audio-centric phrase embeddings that similarity- and
clustering-based negative sampling need. Clip i and caption i of a batch are the
positive pair; every other caption of the batch is a negative (symmetric InfoNCE).
Only weak labels (captions) are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from wstag.data.feature_cache import FeatureStore, pad_features
from wstag.models.clap import ClapConfig, ClapModel, contrastive_loss, save_clap
from wstag.models.text_encoder import pad_token_ids
from wstag.records import Clip
from wstag.text.vocabulary import Vocabulary
from wstag.training.config import ClapTrainingConfig
from wstag.training.fit import fit


class ClapCaptionDataset(Dataset):
    """A clip's features and its whole caption's token ids."""

    def __init__(self, clips: Sequence[Clip], features: FeatureStore, vocab: Vocabulary):
        encoded = ((c.audio_id, vocab.encode(c.caption)) for c in clips)
        self.items = [(audio_id, tokens) for audio_id, tokens in encoded if tokens]  # tokenised once
        self.features = features

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        audio_id, tokens = self.items[index]
        return {"features": self.features[audio_id], "tokens": tokens}


def collate_captions(items: list[dict]) -> dict[str, torch.Tensor]:
    feats, feat_lengths = pad_features([it["features"] for it in items])
    tokens, token_lengths = pad_token_ids([it["tokens"] for it in items])
    return {"features": feats, "feature_lengths": feat_lengths, "tokens": tokens, "token_lengths": token_lengths}


class ClapModule(L.LightningModule):
    def __init__(self, model: ClapModel, config: ClapTrainingConfig):
        super().__init__()
        self.model = model
        self.config = config

    def _loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        audio = self.model.encode_audio(batch["features"], batch["feature_lengths"])
        text = self.model.encode_text(batch["tokens"], batch["token_lengths"])
        return contrastive_loss(self.model.logits(audio, text))

    def training_step(self, batch, batch_idx):
        loss = self._loss(batch)
        self.log("clap/train_loss", loss, prog_bar=True, batch_size=len(batch["tokens"]))
        return loss

    def validation_step(self, batch, batch_idx):
        self.log("val/loss", self._loss(batch), prog_bar=True, batch_size=len(batch["tokens"]))

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.config.lr)


@dataclass(frozen=True)
class ClapResult:
    folder: Path
    best_val_loss: float | None
    epochs: int
    seconds: float


def train_clap(
    train_clips: Sequence[Clip],
    val_clips: Sequence[Clip],
    train_feats: FeatureStore,
    val_feats: FeatureStore,
    vocab: Vocabulary,
    config: ClapTrainingConfig,
    out_dir: Path,
    seed: int = 0,
    enable_progress_bar: bool = True,
    log: Callable[[str], None] | None = None,
) -> ClapResult:
    """Train CLAP into ``out_dir`` (checkpoints/, model/); resume from its last checkpoint."""
    say = log or (lambda m: None)
    out_dir = Path(out_dir)
    L.seed_everything(seed, workers=True, verbose=False)
    train_ds = ClapCaptionDataset(train_clips, train_feats, vocab)
    val_ds = ClapCaptionDataset(val_clips, val_feats, vocab)
    if len(train_ds) < 2:
        raise ValueError("CLAP needs at least 2 captioned training clips (the other captions are the negatives)")
    loader = dict(batch_size=config.batch_size, collate_fn=collate_captions, num_workers=0)
    train_dl = DataLoader(train_ds, shuffle=True, drop_last=len(train_ds) > config.batch_size, **loader)
    val_dl = DataLoader(val_ds, shuffle=False, **loader)
    # The mel bands are the feature cache's (the front end names them once, as for the CRNN).
    n_mels = {} if train_feats.front_end is None else {"n_mels": train_feats.front_end.n_mels}
    module = ClapModule(ClapModel(len(vocab), ClapConfig.from_dict({**config.model, **n_mels})), config)
    result = fit(module, train_dl, val_dl, out_dir, max_epochs=config.max_epochs, max_minutes=config.max_minutes,
                 early_stop_patience=config.early_stop_patience, enable_progress_bar=enable_progress_bar, log=say)
    folder = save_clap(out_dir / "model", module.model.cpu(), vocab, extra={
        "best_val_loss": result.best_score, "epochs": result.epochs, "train_seconds": round(result.seconds, 1)})
    return ClapResult(folder, result.best_score, result.epochs, result.seconds)


def phrase_embedder(model: ClapModel, vocab: Vocabulary) -> Callable[[Sequence[str]], np.ndarray]:
    """The CLAP text tower as the samplers' ``PhraseEmbedder``."""
    return lambda texts: model.embed_texts(list(texts), vocab)
