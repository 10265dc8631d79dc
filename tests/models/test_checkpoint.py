import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from wstag.audio.frames import FrameGrid
from wstag.errors import ModelFolderError
from wstag.models.checkpoint import load_model, save_model
from wstag.models.factory import build_model
from wstag.text.vocabulary import Vocabulary

from .conftest import TINY

CAPTIONS = ["A dog barks while a man speaks", "Rain falls and thunder rumbles", "a bird sings"]


@pytest.fixture
def saved(tmp_path):
    vocab = Vocabulary.build(CAPTIONS)
    model = build_model(TINY, vocab_size=len(vocab), front_end=FrameGrid(hop=160))
    with torch.no_grad():  # move BatchNorm statistics off their defaults: they must be saved too
        model.audio_encoder.mel_bn.running_mean.uniform_(-60, -20)
    folder = save_model(tmp_path / "model", model.eval(), vocab,
                        extra={"training": {"lr": 0.001}, "metrics": {"val/loss": 0.25}})
    return folder, model, vocab


def _inputs(vocab: Vocabulary):
    feats = torch.randn(2, 41, 64) * 10 - 40
    phrases = [vocab.encode("a dog barks"), vocab.encode("rain falls"), vocab.encode("an unseen zebra")]
    tokens = torch.zeros(2, 3, 3, dtype=torch.long)
    for n, ids in enumerate(phrases):
        tokens[:, n, : len(ids)] = torch.tensor(ids)
    lengths = torch.tensor([[len(p) for p in phrases]] * 2)
    return feats, torch.tensor([41, 29]), tokens, lengths


def test_round_trip_gives_identical_outputs(saved) -> None:
    folder, model, vocab = saved
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors", "vocab.json"]
    loaded, vocab2, config = load_model(folder)
    assert vocab2 == vocab and not loaded.training
    assert loaded.grid == FrameGrid(hop=160)
    assert config["training"] == {"lr": 0.001} and config["metrics"] == {"val/loss": 0.25}
    assert config["vocab_size"] == len(vocab)
    assert config["model"]["audio_encoder"] == {**TINY.to_dict()["audio_encoder"], "n_mels": 64}  # filled, recorded
    assert {k: v for k, v in config["model"].items() if k != "audio_encoder"} == {
        k: v for k, v in TINY.to_dict().items() if k != "audio_encoder"}
    inputs = _inputs(vocab)
    with torch.no_grad():
        torch.testing.assert_close(loaded(*inputs), model(*inputs), rtol=0, atol=0)


def test_reserved_extra_keys_refused(tmp_path, saved) -> None:
    _, model, vocab = saved
    with pytest.raises(ValueError, match="reserved"):
        save_model(tmp_path / "m2", model, vocab, extra={"model": {}})
    with pytest.raises(ValueError, match="entries"):
        save_model(tmp_path / "m3", model, Vocabulary.build(["a b"]))


def _edit_json(path, fn) -> None:
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))


def test_missing_folder(tmp_path) -> None:
    with pytest.raises(ModelFolderError, match="does not exist"):
        load_model(tmp_path / "nowhere")


@pytest.mark.parametrize("name", ["config.json", "model.safetensors", "vocab.json"])
def test_missing_file(saved, name: str) -> None:
    folder = saved[0]
    (folder / name).unlink()
    with pytest.raises(ModelFolderError, match=f"{folder}.*{name}"):
        load_model(folder)


@pytest.mark.parametrize("name", ["config.json", "model.safetensors", "vocab.json"])
def test_corrupt_file(saved, name: str) -> None:
    folder = saved[0]
    (folder / name).write_text("{ not json")
    with pytest.raises(ModelFolderError, match=f"{folder}.*{name}") as info:
        load_model(folder)
    assert "\n" not in str(info.value)


def test_config_with_bad_model_section(saved) -> None:
    folder = saved[0]
    _edit_json(folder / "config.json", lambda c: c["model"]["audio_encoder"].update(chanels=[1]))
    with pytest.raises(ModelFolderError, match=r"config.json is invalid.*audio_encoder\.chanels"):
        load_model(folder)


def test_config_missing_keys(saved) -> None:
    folder = saved[0]
    _edit_json(folder / "config.json", lambda c: c.pop("frame_grid"))
    with pytest.raises(ModelFolderError, match="frame_grid"):
        load_model(folder)


def test_weights_of_another_shape(saved) -> None:
    folder = saved[0]
    _edit_json(folder / "config.json", lambda c: c["model"]["audio_encoder"].update(channels=[4, 4, 8, 16]))
    message = r"model.safetensors does not match config.json: shape mismatch .*blocks\.3"
    with pytest.raises(ModelFolderError, match=message):
        load_model(folder)


def test_weights_with_missing_and_unexpected_keys(saved) -> None:
    folder = saved[0]
    state = load_file(str(folder / "model.safetensors"))
    state.pop("audio_encoder.fc.bias")
    state["extra.weight"] = torch.zeros(1)
    save_file(state, str(folder / "model.safetensors"))
    with pytest.raises(ModelFolderError, match=r"missing audio_encoder\.fc\.bias; unexpected extra\.weight"):
        load_model(folder)


def test_vocab_size_mismatch(saved) -> None:
    folder, _, vocab = saved
    Vocabulary([*vocab.words, "zebra"]).save(folder / "vocab.json")
    with pytest.raises(ModelFolderError, match=r"vocab.json has \d+ entries but config.json says vocab_size"):
        load_model(folder)
