"""Reading a shipped data file or the user's replacement of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from wstag.errors import ConfigError
from wstag.files import read_shipped_or_file


def test_the_shipped_file_is_read_and_named_by_its_place_in_the_package():
    text, where = read_shipped_or_file(None, "wstag.scapes", "wordings.yaml", "wordings file")
    assert where == "wstag/scapes/wordings.yaml" and "wordings:" in text


def test_a_given_file_wins_and_a_missing_one_is_refused_by_name(tmp_path: Path):
    path = tmp_path / "mine.yaml"
    path.write_text("wordings: {}\n", encoding="utf-8")
    assert read_shipped_or_file(path, "wstag.scapes", "wordings.yaml", "wordings file") == ("wordings: {}\n", str(path))
    with pytest.raises(ConfigError, match=r"absent\.yaml: wordings file not found"):
        read_shipped_or_file(tmp_path / "absent.yaml", "wstag.scapes", "wordings.yaml", "wordings file")
