"""Self-supervision (paper Eq. 9-10): the loss by hand, the teacher checks, training and resume."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from wstag.audio.frontend import DEFAULT_FRONT_END
from wstag.errors import ConfigError
from wstag.models.checkpoint import save_model
from wstag.models.factory import build_model
from wstag.models.pooling import get_pooling
from wstag.text.vocabulary import Vocabulary
from wstag.training.config import TrainingConfig
from wstag.training.losses import self_supervised_loss
from wstag.training.self_supervised import SelfSupervisedModule, load_teacher


def _bce(p: float, y: float) -> float:
    return -(y * math.log(p) + (1 - y) * math.log(1 - p))


def test_loss_matches_hand_computation_with_refined_labels_and_masks():
    # one clip, 3 frames (the third is padding), 3 phrases (the third is padding)
    logits = torch.tensor([[[0.0, 0.0, 9.0], [math.log(3), 0.0, 9.0], [5.0, 5.0, 9.0]]])  # (1, T=3, N=3)
    teacher_frame = torch.tensor([[[0.2, 0.5, 0.1], [0.6, 0.5, 0.1], [0.9, 0.9, 0.1]]])
    frame_mask = torch.tensor([[True, True, False]])
    phrase_mask = torch.tensor([[True, True, False]])
    student_clip = torch.tensor([[0.8, 0.3, 0.9]])
    labels = torch.tensor([[1.0, 0.0, 0.0]])  # a positive and a sampled negative
    teacher_clip = torch.tensor([[0.4, 0.6, 0.99]])  # the teacher hears the "negative": y_refined = 0.6

    # frame term: student probabilities 0.5, 0.75 (phrase 0) and 0.5, 0.5 (phrase 1) on the 2 valid frames
    frame = (_bce(0.5, 0.2) + _bce(0.75, 0.6) + _bce(0.5, 0.5) + _bce(0.5, 0.5)) / 4
    # clip term: y_refined = max(y, y_self) = 1.0 and 0.6
    clip = (_bce(0.8, 1.0) + _bce(0.3, 0.6)) / 2
    assert frame == pytest.approx(0.701642, abs=1e-6) and clip == pytest.approx(0.544099, abs=1e-6)

    total, f, c = self_supervised_loss(logits, student_clip, labels, teacher_frame, teacher_clip,
                                       frame_mask, phrase_mask)
    assert f.item() == pytest.approx(frame, abs=1e-6)
    assert c.item() == pytest.approx(clip, abs=1e-6)
    assert total.item() == pytest.approx(frame + clip, abs=1e-6)
    half, _, _ = self_supervised_loss(logits, student_clip, labels, teacher_frame, teacher_clip,
                                      frame_mask, phrase_mask, frame_weight=0.5)
    assert half.item() == pytest.approx(0.5 * frame + clip, abs=1e-6)


def test_a_teacher_below_the_label_leaves_it_unchanged():
    labels = torch.tensor([[1.0, 0.0]])
    _, _, clip = self_supervised_loss(torch.zeros(1, 2, 2), torch.tensor([[0.9, 0.2]]), labels,
                                      torch.full((1, 2, 2), 0.5), torch.tensor([[0.3, 0.0]]),
                                      torch.ones(1, 2, dtype=torch.bool), torch.ones(1, 2, dtype=torch.bool))
    assert clip.item() == pytest.approx((_bce(0.9, 1.0) + _bce(0.2, 0.0)) / 2, abs=1e-6)


VOCAB = Vocabulary.build(["a dog barks", "a car passes by", "rain falls"])


def _teacher_folder(tmp_path, preset="cpu_fast", vocab=VOCAB, front_end=DEFAULT_FRONT_END):
    torch.manual_seed(0)
    model = build_model(preset, len(vocab), front_end)
    return save_model(tmp_path / f"teacher-{preset}-{len(vocab)}", model, vocab)


def test_teacher_of_another_architecture_vocabulary_or_front_end_is_refused(tmp_path):
    student = build_model("cpu_fast", len(VOCAB))
    with pytest.raises(ConfigError, match=r"training.teacher .* another architecture .*audio_encoder"):
        load_teacher(_teacher_folder(tmp_path, "cpu"), student, VOCAB, DEFAULT_FRONT_END)
    other = Vocabulary.build(["a dog barks", "a cat meows"])
    with pytest.raises(ConfigError, match="another vocabulary.*cat"):
        load_teacher(_teacher_folder(tmp_path, vocab=other), build_model("cpu_fast", len(VOCAB)), VOCAB,
                     DEFAULT_FRONT_END)
    shifted = dataclasses.replace(DEFAULT_FRONT_END, f_max=7000.0)
    with pytest.raises(ConfigError, match="another front end.*f_max"):
        load_teacher(_teacher_folder(tmp_path, front_end=shifted), student, VOCAB, DEFAULT_FRONT_END)


def test_teacher_is_frozen_and_outside_the_state_dict(tmp_path):
    student = build_model("cpu_fast", len(VOCAB))
    teacher = load_teacher(_teacher_folder(tmp_path), student, VOCAB, DEFAULT_FRONT_END)
    module = SelfSupervisedModule(student, TrainingConfig(regime="self_supervised", teacher="x"), teacher)
    assert not any(k.startswith("_teacher") or "teacher" in k for k in module.state_dict())
    assert {id(p) for p in module.parameters()}.isdisjoint(id(p) for p in teacher.parameters())
    tokens = torch.tensor([[VOCAB.encode("a dog barks"), VOCAB.encode("rain falls")[:3] + [0]]])
    batch = {"features": torch.randn(1, 200, 64), "feature_lengths": torch.tensor([200]),
             "tokens": tokens, "token_lengths": torch.tensor([[3, 2]]), "labels": torch.tensor([[1.0, 0.0]]),
             "phrase_mask": torch.tensor([[True, True]])}
    module.train()
    module._loss(batch).backward()
    assert not teacher.training
    assert all(p.grad is None for p in teacher.parameters())
    assert any(p.grad is not None for p in student.parameters())
    # the teacher's pooled probabilities are the student's pooling of its frame probabilities
    assert module.pool is not None and type(module.pool) is type(get_pooling("linear_softmax"))


def test_config_checks_the_teacher_and_the_frame_weight():
    with pytest.raises(ConfigError, match="training.teacher is used by regime self_supervised only"):
        TrainingConfig(regime="phrase_level", teacher="runs/x/model").validate("c.yaml")
    with pytest.raises(ConfigError, match="training.frame_weight must be >= 0"):
        TrainingConfig(regime="self_supervised", teacher="t", frame_weight=-1.0).validate("c.yaml")
