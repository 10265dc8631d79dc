"""The diagnostic class text encoder and the all-classes sampler (issue 24)."""

import numpy as np
import pytest
import torch

from wstag.errors import ConfigError
from wstag.models.class_text import ClassTextEncoder, ClassTextEncoderConfig
from wstag.models.factory import ModelConfig, build_model
from wstag.sampling.class_oracle_sampler import AllClassesSampler

WORDS = ["<pad>", "<unk>", "a", "dog", "barks", "dogs", "bark", "rain", "falls"]
TABLE = {"a dog barks": "dog_bark", "Dogs bark.": "dog_bark", "rain falls": "rain"}


def _ids(text):
    return [WORDS.index(w) for w in text.split()]


def test_phrases_of_one_class_share_one_vector_and_others_get_unk() -> None:
    enc = ClassTextEncoder(len(WORDS), ClassTextEncoderConfig(embed_dim=4, phrase_class=TABLE), WORDS)
    rows = [_ids("a dog barks"), _ids("dogs bark"), _ids("rain falls"), _ids("a dog")]
    tokens = torch.zeros(4, 3, dtype=torch.long)
    for i, r in enumerate(rows):
        tokens[i, : len(r)] = torch.tensor(r)
    out = enc(tokens, torch.tensor([len(r) for r in rows]))
    assert torch.equal(out[0], out[1]) and not torch.equal(out[0], out[2])
    torch.testing.assert_close(out[3], enc.embedding.weight[0])  # not in the table: <unk>
    assert enc.index == {"dog_bark": 1, "rain": 2}
    torch.testing.assert_close(enc.encode_texts(["Dogs bark!"])[0], out[0])


def test_the_class_kind_builds_through_the_factory_and_needs_its_table() -> None:
    cfg = ModelConfig.from_dict({"preset": "cpu_fast", "text_encoder": {"kind": "class", "phrase_class": TABLE}})
    model = build_model(cfg, len(WORDS), words=WORDS)
    assert isinstance(model.text_encoder, ClassTextEncoder) and model.text_encoder.config.embed_dim == 128
    with pytest.raises(ConfigError, match="phrase classes"):
        build_model({"preset": "cpu_fast", "text_encoder": {"kind": "class"}}, len(WORDS), words=WORDS)


def test_all_classes_sampler_gives_one_phrase_of_every_absent_class() -> None:
    pool = ["a dog barks", "dogs bark", "rain falls", "rain pours", "a bell rings", "several times"]
    classes = {"a dog barks": "dog", "dogs bark": "dog", "rain falls": "rain", "rain pours": "rain",
               "a bell rings": "bell", "several times": None}
    sampler = AllClassesSampler(pool, classes)
    neg = sampler.sample(["dogs bark"], 10, np.random.default_rng(0))
    assert sorted(classes[n] for n in neg) == ["bell", "rain"]
    assert len(sampler.sample(["dogs bark"], 2, np.random.default_rng(0))) == 1  # n counts the positives
