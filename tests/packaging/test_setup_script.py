"""setup.sh stops on a failed install with pip's own words (issue 25, item 13)."""

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_a_failed_pip_install_stops_setup(tmp_path):
    for name in ("setup.sh", "requirements.txt", "requirements-minilm.txt", "requirements-parser.txt", "pyproject.toml"):
        shutil.copy(REPO / name, tmp_path / name)
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text("#!/bin/sh\nexit 0\n")  # a venv whose imports would all "work"
    (bin_dir / "pip").write_text("#!/bin/sh\necho 'ERROR: No matching distribution found for torch==99'\nexit 1\n")
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    run = subprocess.run(["bash", "setup.sh"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "No matching distribution" in run.stderr and "setup failed: pip install" in run.stderr
    assert not (tmp_path / ".venv" / ".wstag-requirements").exists()  # not stamped as done
