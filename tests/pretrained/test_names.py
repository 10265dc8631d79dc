"""Names resolve the same way everywhere: an existing path wins, else a shipped name, else one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.inference.tiny import make_model_dir, write_clip
from wstag.cli.main import app
from wstag.errors import ConfigError, ModelFolderError
from wstag.shipped import CONFIG_DIR, PRETRAINED_DIR, config_path, resolve_model, shipped_configs, shipped_models

runner = CliRunner()


def test_a_shipped_name_resolves_into_the_package(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert {"default", "minilm"} <= set(shipped_models())
    for name in shipped_models():
        assert resolve_model(name) == PRETRAINED_DIR / name


def test_an_existing_path_wins_over_a_shipped_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_model_dir(tmp_path / "default")
    assert resolve_model("default") == Path("default")


def test_an_unknown_name_lists_the_shipped_ones(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelFolderError, match=r"model folder nosuch does not exist, nor is it a shipped model's "
                                               rf"name \(shipped: {', '.join(shipped_models())}\)"):
        resolve_model("nosuch")
    assert shipped_models(tmp_path / "empty") == []


@pytest.mark.parametrize("command", [
    ["ground", "nosuch", "CLIP", "a dog barks"],
    ["evaluate", "nosuch", "--data", "."],
    ["index", "build", ".", "--model", "nosuch", "--out", "INDEX"],
])
def test_every_command_refuses_an_unknown_model_in_one_line(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    clip = write_clip(tmp_path / "clip.wav")
    res = runner.invoke(app, [str(clip) if a == "CLIP" else a for a in command])
    assert res.exit_code == 2, res.output
    assert res.output == ("error: model folder nosuch does not exist, nor is it a shipped model's name "
                          f"(shipped: {', '.join(shipped_models())})\n")


def test_configs_are_package_data_and_the_root_configs_links_to_them():
    root = Path(__file__).resolve().parents[2] / "configs"
    assert root.is_symlink() and root.resolve() == CONFIG_DIR
    assert "phrase_random_cpu" in shipped_configs() and len(shipped_configs()) >= 15


def test_a_config_resolves_by_path_or_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # outside the repository: configs/ here does not exist
    own = tmp_path / "mine.yaml"
    own.write_text("name: mine\n")
    assert config_path(own) == own
    for name in ("phrase_random_cpu", "phrase_random_cpu.yaml", "configs/phrase_random_cpu.yaml"):
        assert config_path(name) == CONFIG_DIR / "phrase_random_cpu.yaml"
    with pytest.raises(ConfigError, match=r"nosuch.yaml: no such config file, nor a shipped config .*phrase_random_cpu"):
        config_path("nosuch.yaml")
    with pytest.raises(ConfigError, match="no such config file"):
        config_path(tmp_path / "elsewhere" / "phrase_random_cpu.yaml")  # a path that names a folder is not a name
