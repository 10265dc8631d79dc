"""The experiment's `front_end` section: the one place for the mel bands, parsed at load time, kept per run."""

from __future__ import annotations

import json

import pytest

from wstag.audio.frontend import DEFAULT_FRONT_END, FrontEnd
from wstag.errors import ConfigError, ModelFolderError
from wstag.models.checkpoint import save_model
from wstag.models.factory import build_model
from wstag.text.vocabulary import Vocabulary
from wstag.training.config import parse_experiment
from wstag.training.run import RUN_FRONT_END, check_run_front_end


def test_front_end_defaults_and_parses_a_section() -> None:
    assert parse_experiment({}, "x.yaml").front_end == DEFAULT_FRONT_END
    cfg = parse_experiment({"front_end": {"n_mels": 128, "f_max": 15000}, "model": {"preset": "cpu"}}, "x.yaml")
    assert cfg.front_end == FrontEnd(n_mels=128, f_max=15000.0)
    assert cfg.to_dict()["front_end"]["n_mels"] == 128  # recorded in the model folder's "experiment"
    cfg = parse_experiment({}, "x.yaml", ["front_end.hop=160"])
    assert cfg.front_end.hop == 160 and cfg.front_end.grid.output_hop_s == 0.02


@pytest.mark.parametrize(
    "data, message",
    [({"model": {"audio_encoder": {"n_mels": 128}}},
      r"x.yaml: model.audio_encoder.n_mels is taken from front_end.n_mels; set the mel bands there only "
      r"\(front_end: \{n_mels: 128\}\)"),
     ({"front_end": {"n_mels": 64}, "model": {"audio_encoder": {"n_mels": 64}}},  # equal is still a second source
      r"model.audio_encoder.n_mels is taken from front_end.n_mels"),
     ({"clap": {"model": {"n_mels": 128}}}, r"x.yaml: clap.model.n_mels is taken from front_end.n_mels"),
     ({"front_end": {"n_mel": 128}}, r"x.yaml: unknown key front_end.n_mel"),
     ({"front_end": {"f_max": 99999}}, r"x.yaml: front_end band edges")],
)
def test_a_second_source_of_mel_bands_or_a_bad_front_end_fails_at_load_time(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_experiment(data, "x.yaml")


def test_a_run_folder_keeps_its_front_end(tmp_path) -> None:
    check_run_front_end(tmp_path, DEFAULT_FRONT_END)
    assert json.loads((tmp_path / RUN_FRONT_END).read_text()) == DEFAULT_FRONT_END.to_dict()
    check_run_front_end(tmp_path, DEFAULT_FRONT_END)  # resuming with the same one
    with pytest.raises(ConfigError, match=r"started with another front end \(n_mels 64 vs 128, run vs config\)"):
        check_run_front_end(tmp_path, FrontEnd(n_mels=128))


def test_resuming_a_finished_run_with_another_front_end_is_refused(tmp_path) -> None:
    vocab = Vocabulary.build(["a dog barks"])
    save_model(tmp_path / "model", build_model("cpu", len(vocab)), vocab)  # from before RUN_FRONT_END
    with pytest.raises(ModelFolderError, match=r"trained with another front end than expected \(hop 320 vs 160"):
        check_run_front_end(tmp_path, FrontEnd(hop=160))
