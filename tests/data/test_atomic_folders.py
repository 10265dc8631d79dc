"""Replacing a folder whole (issue 25): never a moment without the old or the new one."""

import os

import pytest

from wstag.files import recover_folder, swap_folder


def _folder(path, text):
    path.mkdir()
    (path / "corpus.json").write_text(text)
    return path


def test_swap_replaces_a_folder_whole(tmp_path):
    target = _folder(tmp_path / "corpus", "old")
    staged = _folder(tmp_path / ".corpus.partial", "new")
    swap_folder(staged, target)
    assert (target / "corpus.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus"]


def test_a_swap_cut_between_its_renames_is_recovered(tmp_path, monkeypatch):
    target = _folder(tmp_path / "corpus", "old")
    staged = _folder(tmp_path / ".corpus.partial", "new")
    real = os.replace
    calls = []

    def cut(src, dst):
        calls.append(src)
        if len(calls) == 2:
            raise KeyboardInterrupt  # killed after moving the old folder aside
        real(src, dst)

    monkeypatch.setattr(os, "replace", cut)
    with pytest.raises(KeyboardInterrupt):
        swap_folder(staged, target)
    monkeypatch.setattr(os, "replace", real)
    assert not target.exists()  # the moment the old code lost the corpus for good
    recover_folder(target)
    assert (target / "corpus.json").read_text() == "old"


def test_recover_leaves_a_finished_swap_alone(tmp_path):
    target = _folder(tmp_path / "corpus", "new")
    _folder(tmp_path / ".corpus.old", "old")
    recover_folder(target)
    assert (target / "corpus.json").read_text() == "new" and not (tmp_path / ".corpus.old").exists()
