from dataclasses import replace

import pytest
import torch
from safetensors.torch import save_file

from wstag.audio.frames import DEFAULT_GRID
from wstag.errors import ConfigError
from wstag.models.crnn import CRNN, CRNNConfig
from wstag.models.factory import build_model

from .conftest import TINY, TINY_AUDIO, TINY_STEM_AUDIO

BOTH = pytest.mark.parametrize("config", [TINY_AUDIO, TINY_STEM_AUDIO], ids=["table1", "stem"])


def _eval_crnn(config: CRNNConfig = TINY_AUDIO) -> CRNN:
    crnn = CRNN(config)
    with torch.no_grad():  # non-trivial mel statistics, so BatchNorm is not the identity
        crnn.mel_bn.running_mean.uniform_(-60, -20)
        crnn.mel_bn.running_var.uniform_(50, 150)
    return crnn.eval()


@BOTH
def test_output_lengths_follow_the_frame_grid(config: CRNNConfig) -> None:
    crnn = _eval_crnn(config)
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


@BOTH
@pytest.mark.parametrize("t", [4, 5, 7, 8, 1001, 1003])
def test_unpadded_output_length(config: CRNNConfig, t: int) -> None:
    with torch.no_grad():
        emb, lengths = _eval_crnn(config)(torch.randn(2, t, 64))
    assert emb.shape[1] == t // 4 and lengths.tolist() == [t // 4] * 2


@BOTH
def test_padding_does_not_leak_into_valid_frames(config: CRNNConfig) -> None:
    """A clip alone and the same clip padded in a batch give the same valid embeddings."""
    crnn = _eval_crnn(config)
    lengths = [37, 61, 8, 50, 63]
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


@BOTH
def test_clip_shorter_than_one_output_frame(config: CRNNConfig) -> None:
    with torch.no_grad():
        emb, lengths = _eval_crnn(config)(torch.randn(2, 9, 64), torch.tensor([3, 9]))
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
     ({"level_db": 90}, "level_db"), ({"filter_bands": 0}, "filter_bands"),
     ({"stem_stride": (2, 0)}, "stem_stride"), ({"block_pools": ((2, 2), (2, 2), (1, 2))}, "block_pools"),
     ({"stem_stride": (2, 1)}, "stem_stride and block_pools downsample time by 8"),
     ({"n_mels": 64, "block_pools": ((2, 16), (2, 8), (1, 1), (1, 1))}, "n_mels must be an integer >= 128"),
     ({"mel_bn_affine": 1}, "mel_bn_affine")],
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


# -- the strided stem (cpu_fast)
def test_stem_sizes_and_no_gradient_before_it() -> None:
    """Stride (2, 4) with kernel 3 x 4: 2x fewer frames, 4x fewer bins, every bin seen once;
    without an affine mel BatchNorm nothing before the stem has parameters."""
    crnn = CRNN(TINY_STEM_AUDIO).train()
    assert crnn.stem.conv.kernel_size == (3, 4) and crnn.stem.conv.padding == (1, 0)
    assert not list(crnn.mel_bn.parameters())
    x = torch.randn(3, 101, 64)[..., None].permute(0, 3, 1, 2)  # (B, 1, T, F)
    out, lengths = crnn.stem(x, torch.tensor([101, 100, 7]))
    assert out.shape == (3, 4, 50, 16) and lengths.tolist() == [50, 50, 3]
    emb, _ = crnn(torch.randn(3, 101, 64), torch.tensor([101, 100, 7]))
    emb.sum().backward()
    assert crnn.stem.conv.weight.grad is not None and crnn.stem.conv.weight.grad.abs().sum() > 0


def test_stem_config_round_trips_through_a_dict() -> None:
    d = TINY_STEM_AUDIO.to_dict()
    assert d["stem_stride"] == [2, 4] and d["block_pools"][0] == [1, 2]
    assert CRNNConfig(**d) == TINY_STEM_AUDIO  # lists from JSON/YAML become tuples again


def test_without_temporal_context_a_frame_depends_only_on_its_neighbourhood():
    import torch

    from wstag.models.crnn import CRNN, CRNNConfig

    torch.manual_seed(0)
    cfg = CRNNConfig(channels=(8, 16, 32, 64), embed_dim=32, gru_hidden=16, temporal="none", specaugment=False)
    model = CRNN(cfg).eval()
    x = torch.randn(1, 800, 64)
    y = x.clone()
    y[:, 600:] = 3 * torch.randn(1, 200, 64)  # another sound in the last quarter of the clip
    a, _ = model(x)
    b, _ = model(y)
    assert a.shape == (1, 200, 32) and a.abs().max() <= 1.0
    torch.testing.assert_close(a[:, :140], b[:, :140])  # frames 0.4 s and more before the change never hear it
    assert (a[:, 160:] - b[:, 160:]).abs().max() > 1e-3
    bigru = CRNN(CRNNConfig(channels=(8, 16, 32, 64), embed_dim=32, gru_hidden=16, specaugment=False)).eval()
    reach = (bigru(x)[0] - bigru(y)[0]).abs().amax(-1)[0]
    assert reach[100:140].max() > 0  # the BiGRU carries the change back to frames the CNN never saw
