"""Phrase-level WSTAG with self-supervision (paper IV-B, Eq. 9-10).

A trained phrase-level model G of the same architecture, vocabulary and front end (the
teacher) scores every sampled phrase of a batch, positives and negatives alike. Its
pooled clip probability refines the weak label (y_refined = max(y, y_self)) and its
frame probabilities become soft frame-level targets, which weak labels never give.

Which input the teacher sees: exactly the student's features. The grounding model
trains without augmentation, so these are the clean log-mels; were augmentation added
for the student, the teacher should still read the clean features, because its targets
are meant to be its best estimate and the noise belongs to the student (as in noisy
student training, the paper's reference [54]).

The teacher is held outside the module's parameters and state dict: it is never
trained, never saved in a checkpoint, and ``train()`` loads it again from its folder
when a run resumes.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from wstag.audio.frontend import FrontEnd
from wstag.errors import ConfigError
from wstag.models.checkpoint import load_model
from wstag.models.factory import model_config_of
from wstag.models.grounding import GroundingModel
from wstag.text.vocabulary import Vocabulary
from wstag.training.config import TrainingConfig
from wstag.training.losses import self_supervised_loss
from wstag.training.phrase_level import PhraseLevelModule


def _differences(a: dict, b: dict, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested dicts, with both values."""
    out = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += _differences(va, vb, f"{prefix}{key}.")
        elif va != vb:
            out.append(f"{prefix}{key} {va!r} vs {vb!r}")
    return out


def load_teacher(folder: str | Path, student: GroundingModel, vocab: Vocabulary,
                 front_end: FrontEnd) -> GroundingModel:
    """The frozen teacher G from its model folder, refused (one line) unless it matches the student.

    Same architecture, because Eq. 10 compares frame by frame; same vocabulary and front
    end, because it must read the student's token ids and features as its own.
    """
    teacher, teacher_vocab, _ = load_model(folder)
    where = f"training.teacher {folder}"
    arch = _differences(dataclasses.asdict(model_config_of(teacher)), dataclasses.asdict(model_config_of(student)))
    if arch:
        raise ConfigError(f"{where}: another architecture than the student ({'; '.join(arch[:3])}, teacher vs student)")
    if teacher_vocab != vocab:
        extra = sorted(set(teacher_vocab.words) ^ set(vocab.words))
        raise ConfigError(f"{where}: another vocabulary than the student ({len(teacher_vocab)} vs {len(vocab)} "
                          f"words; differing: {', '.join(extra[:5]) or 'the order'}); train both on the same corpus")
    diff = teacher.front_end.describe_difference(front_end)
    if diff:
        raise ConfigError(f"{where}: another front end than the student ({diff}, teacher vs student)")
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


class SelfSupervisedModule(PhraseLevelModule):
    """The phrase-level module whose training loss is Eq. 10; validation is the phrase-level one."""

    def __init__(self, model: GroundingModel, config: TrainingConfig, teacher: GroundingModel):
        super().__init__(model, config)
        self._teacher = (teacher,)  # a tuple hides it from nn.Module: no parameters, no state dict

    @property
    def teacher(self) -> GroundingModel:
        return self._teacher[0]

    def on_fit_start(self) -> None:
        self.teacher.to(self.device).eval()  # Lightning's train() calls never reach it

    def _terms(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(loss, frame term, clip term) of Eq. 10 on a batch."""
        inputs = (batch["features"], batch["feature_lengths"], batch["tokens"], batch["token_lengths"])
        logits, frame_mask = self.model.forward_logits(*inputs)  # (B, T, N), (B, T)
        student_clip = self.pool(torch.sigmoid(logits), frame_mask)
        with torch.no_grad():
            teacher_frame, teacher_mask = self.teacher(*inputs)
            teacher_clip = self.pool(teacher_frame, teacher_mask)  # the student's pooling (Eq. 9)
        return self_supervised_loss(logits, student_clip, batch["labels"], teacher_frame, teacher_clip,
                                    frame_mask, batch["phrase_mask"], self.config.frame_weight)

    def _loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self._terms(batch)[0]

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss, frame, clip = self._terms(batch)
        n = len(batch["labels"])
        self.log("train/loss", loss, prog_bar=True, batch_size=n)
        # epoch means: how much each term of Eq. 10 contributes, in metrics.csv
        self.log("train/frame_loss", frame, on_step=False, on_epoch=True, batch_size=n)
        self.log("train/clip_loss", clip, on_step=False, on_epoch=True, batch_size=n)
        return loss
