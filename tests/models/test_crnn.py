from dataclasses import replace

import pytest
import torch
from safetensors.torch import save_file

from wstag.audio.frames import DEFAULT_GRID
from wstag.errors import ConfigError
from wstag.models.crnn import CRNN, CRNNConfig
from wstag.models.factory import build_model

from .conftest import TINY, TINY_AUDIO


def _eval_crnn(config: CRNNConfig = TINY_AUDIO) -> CRNN:
    crnn = CRNN(config)
    with torch.no_grad():  # non-trivial mel statistics, so BatchNorm is not the identity
        crnn.mel_bn.running_mean.uniform_(-60, -20)
        crnn.mel_bn.running_var.uniform_(50, 150)
    return crnn.eval()


def test_output_lengths_follow_the_frame_grid() -> None:
    crnn = _eval_crnn()
    samples = [0, 959, 960, 1279, 1280, 12_345, 32_000, 100_000]
    feat_lengths = torch.tensor([DEFAULT_GRID.n_feature_frames(n) for n in samples])
    feats = torch.randn(len(samples), int(feat_lengths.max()), 64)
    with torch.no_grad():
        emb, out_lengths = crnn(feats, feat_lengths)
    assert out_lengths.tolist() == [DEFAULT_GRID.n_output_frames(n) for n in samples]
    assert emb.shape == (len(samples), int(feat_lengths.max()) // 4, TINY_AUDIO.out_dim)
    for b, n in enumerate(out_lengths.tolist()):  # padded output frames are zero
        assert (emb[b, n:] == 0).all()
        assert (emb[b, :n] != 0).any() or n == 0


@pytest.mark.parametrize("t", [4, 5, 7, 8, 1001])
def test_unpadded_output_length(t: int) -> None:
    with torch.no_grad():
        emb, lengths = _eval_crnn()(torch.randn(2, t, 64))
    assert emb.shape[1] == t // 4 and lengths.tolist() == [t // 4] * 2


def test_padding_does_not_leak_into_valid_frames() -> None:
    """A clip alone and the same clip padded in a batch give the same valid embeddings."""
    crnn = _eval_crnn()
    lengths = [37, 61, 8, 50]
    clips = [torch.randn(n, 64) * 10 - 40 for n in lengths]
    batch = torch.full((len(clips), 70, 64), 1e3)  # loud garbage in the padding
    for b, clip in enumerate(clips):
        batch[b, : len(clip)] = clip
    with torch.no_grad():
        emb, out_lengths = crnn(batch, torch.tensor(lengths))
        for b, clip in enumerate(clips):
            alone, n = crnn(clip[None])
            assert out_lengths[b] == n[0] == len(clip) // 4
            torch.testing.assert_close(emb[b, : n[0]], alone[0], atol=1e-5, rtol=1e-5)


def test_clip_shorter_than_one_output_frame() -> None:
    with torch.no_grad():
        emb, lengths = _eval_crnn()(torch.randn(2, 9, 64), torch.tensor([3, 9]))
    assert lengths.tolist() == [0, 2]
    assert (emb[0] == 0).all()


def test_training_mode_with_specaugment_backpropagates() -> None:
    crnn = CRNN(TINY_AUDIO).train()
    feats = torch.randn(3, 40, 64)
    emb, lengths = crnn(feats, torch.tensor([40, 33, 20]))
    emb.sum().backward()
    assert crnn.blocks[0].conv1.weight.grad is not None
    assert isinstance(crnn.spec_augment, torch.nn.Module)


def test_bad_inputs() -> None:
    crnn = _eval_crnn()
    with pytest.raises(ValueError, match="log-mel"):
        crnn(torch.randn(2, 10, 32))
    with pytest.raises(ValueError, match="feat_lengths"):
        crnn(torch.randn(2, 10, 64), torch.tensor([11, 3]))


@pytest.mark.parametrize(
    "override, key",
    [({"channels": (4, 4, 8)}, "channels"), ({"embed_dim": 0}, "embed_dim"),
     ({"block_dropout": 1.0}, "block_dropout"), ({"n_mels": 8}, "n_mels"),
     ({"specaugment": "yes"}, "specaugment"), ({"specaug_time_width": -1}, "specaug_time_width"),
     ({"freq_shift": -2}, "freq_shift"), ({"filter_gain_db": -3.0}, "filter_gain_db"),
     ({"level_db": 90}, "level_db"), ({"filter_bands": 0}, "filter_bands")],
)
def test_config_errors_name_the_key(override: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=f"audio_encoder.{key}"):
        replace(TINY_AUDIO, **override)


# -- pretrained weights
def _source_weights() -> dict[str, torch.Tensor]:
    return {k: torch.randn_like(v.float()).to(v.dtype) if v.is_floating_point() else v
            for k, v in CRNN(TINY_AUDIO).state_dict().items()}


def _assert_loaded(crnn: CRNN, weights: dict[str, torch.Tensor]) -> None:
    for k, v in crnn.state_dict().items():
        torch.testing.assert_close(v, weights[k], msg=k)


@pytest.mark.parametrize("fmt", ["safetensors", "torch", "wstag_model", "lightning"])
def test_load_pretrained_formats(tmp_path, fmt: str) -> None:
    weights = _source_weights()
    if fmt == "safetensors":
        path = tmp_path / "enc.safetensors"
        save_file(weights, str(path))
    else:
        path = tmp_path / "enc.pt"
        prefix = {"torch": "", "wstag_model": "audio_encoder.", "lightning": "model.audio_encoder."}[fmt]
        state = {prefix + k: v for k, v in weights.items()}
        if fmt != "torch":
            state["text_encoder.embedding.weight"] = torch.zeros(5, 8)  # other towers are ignored
        torch.save({"state_dict": state, "epoch": 3} if fmt == "lightning" else state, path)
    crnn = CRNN(TINY_AUDIO)
    assert crnn.load_pretrained(path) == []
    _assert_loaded(crnn, weights)


def test_load_pretrained_through_build_model(tmp_path) -> None:
    weights = _source_weights()
    save_file(weights, str(tmp_path / "cnn.safetensors"))
    config = TINY.to_dict()
    config["audio_encoder"]["pretrained"] = str(tmp_path / "cnn.safetensors")
    model = build_model(config, vocab_size=10)
    _assert_loaded(model.audio_encoder, weights)


def test_load_pretrained_errors(tmp_path) -> None:
    crnn = CRNN(TINY_AUDIO)
    with pytest.raises(ConfigError, match="does not exist"):
        crnn.load_pretrained(tmp_path / "nope.pt")
    (tmp_path / "bad.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="bad.safetensors cannot be read"):
        crnn.load_pretrained(tmp_path / "bad.safetensors")

    wide = CRNN(replace(TINY_AUDIO, channels=(4, 4, 8, 16))).state_dict()
    save_file(wide, str(tmp_path / "wide.safetensors"))
    with pytest.raises(ConfigError, match=r"blocks\.3\.conv1\.weight .*channels"):
        crnn.load_pretrained(tmp_path / "wide.safetensors")

    partial = {k: v for k, v in _source_weights().items() if not k.startswith("gru.")}
    save_file(partial, str(tmp_path / "cnn_only.safetensors"))
    with pytest.raises(ConfigError, match=r"missing gru\.weight_ih_l0.*pretrained_strict"):
        crnn.load_pretrained(tmp_path / "cnn_only.safetensors")
    missing = crnn.load_pretrained(tmp_path / "cnn_only.safetensors", strict=False)
    assert missing and all(k.startswith("gru.") for k in missing)
    torch.testing.assert_close(crnn.blocks[0].conv1.weight, partial["blocks.0.conv1.weight"])

    save_file({"foo.bar": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ConfigError, match="none of its 1 keys match"):
        crnn.load_pretrained(tmp_path / "other.safetensors", strict=False)
