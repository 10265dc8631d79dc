"""The package as a user installs it: a wheel in a fresh venv, used from outside the repository.

Catches what an editable install hides: configs, the shipped model or a module left out of
the wheel. The wheel is built from a copy of the tracked and new files (a stale build/ in
the checkout cannot leak into it), and the venv reuses the installed dependencies (a .pth
line pointing at this interpreter's site-packages: nothing is downloaded) but not the
editable wstag, whose hook lives in a .pth file that a .pth line does not process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from wstag.experiments.demo import DEMO_CONFIG
from wstag.provenance import config_hash
from wstag.training.config import load_experiment

pytestmark = pytest.mark.slow  # a wheel build, a venv and three cold starts of torch: about a minute

REPO = Path(__file__).resolve().parents[2]


def _source_files() -> list[Path]:
    """What a commit would hold: tracked and untracked-but-not-ignored files (present ones)."""
    try:
        out = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard", "--deduplicate"],
                             capture_output=True, check=True, timeout=60).stdout.decode()
    except (OSError, subprocess.SubprocessError):  # no git: what the wheel is built from
        return [p.relative_to(REPO) for p in [REPO / "pyproject.toml", REPO / "README.md", *(REPO / "wstag").rglob("*")]
                if "__pycache__" not in p.parts and (p.is_file() or p.is_symlink())]
    return [Path(f) for f in out.split("\0") if f and os.path.lexists(REPO / f)]


def _copy_source(dest: Path) -> Path:
    for rel in _source_files():
        if rel.parts[0] in ("tests", "results", "reports", "benchmarks"):
            continue  # not part of the wheel, and reports/ holds model folders
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, dest / rel, follow_symlinks=False)
    return dest


def _run(args: list, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    res = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, f"{args}\n{res.stdout}\n{res.stderr}"
    return res


@pytest.fixture(scope="module")
def wheel_source(tmp_path_factory) -> Path:
    """The copy of the checkout the wheel is built from."""
    return _copy_source(tmp_path_factory.mktemp("wheel-source"))


@pytest.fixture(scope="module")
def venv(wheel_source, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed; returns its bin/ folder."""
    work = tmp_path_factory.mktemp("wheel")
    src = wheel_source
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", work / "dist", src],
         cwd=work)
    wheels = list((work / "dist").glob("wstag-*.whl"))
    assert len(wheels) == 1, wheels
    env_dir = work / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", env_dir], cwd=work)
    python = env_dir / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", wheels[0]], cwd=work)
    # Only after installing: pip must not see the editable wstag and call the wheel satisfied.
    site = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=work).stdout.strip()
    ours = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (Path(site) / "wstag-test-dependencies.pth").write_text("".join(f"{p}\n" for p in ours))
    return env_dir / "bin"


@pytest.fixture
def outside(tmp_path) -> tuple[Path, dict]:
    """A working directory outside the repository and an environment without PYTHONPATH."""
    assert REPO not in tmp_path.parents
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return tmp_path, env


def test_the_wheel_holds_the_package_not_the_source_tree(venv, outside, wheel_source):
    cwd, env = outside
    res = _run([venv / "python", "-c", "import wstag, wstag.shipped as s; print(wstag.__file__); "
                                       "print(s.shipped_models()); print(len(s.shipped_configs()))"], cwd, env)
    where, models, n_configs = res.stdout.splitlines()
    assert Path(where).is_relative_to(venv.parent) and not Path(where).is_relative_to(REPO)
    assert "'default'" in models
    assert int(n_configs) == len(list((wheel_source / "wstag" / "configs").glob("*.yaml"))) >= 15


def test_wstag_help(venv, outside):
    cwd, env = outside
    res = _run([venv / "wstag", "--help"], cwd, env)
    for command in ("ground", "evaluate", "demo", "model", "index"):
        assert command in res.stdout


def test_wstag_ground_default_on_a_corpus_clip(venv, outside, tiny_corpus):
    cwd, env = outside
    clip = sorted((tiny_corpus / "test" / "audio").iterdir())[0]
    res = _run([venv / "wstag", "ground", "default", clip, "a dog barks", "--threshold", "0"], cwd, env)
    lines = res.stdout.splitlines()
    assert lines[0] == "onset\toffset\tphrase" and lines[1].endswith("\ta dog barks"), res.stdout


def test_the_demo_config_loads_from_the_installed_package(venv, outside):
    cwd, env = outside
    code = ("from wstag.experiments.demo import DEMO_CONFIG; from wstag.training.config import load_experiment; "
            "from wstag.provenance import config_hash; c = load_experiment(DEMO_CONFIG); "
            "print(DEMO_CONFIG); print(config_hash(c.to_dict()))")
    where, chash = _run([venv / "python", "-c", code], cwd, env).stdout.splitlines()
    assert Path(where).is_relative_to(venv.parent)
    assert Path(where).name == DEMO_CONFIG.name
    assert chash == config_hash(load_experiment(REPO / "configs" / DEMO_CONFIG.name).to_dict())
