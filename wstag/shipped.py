"""What ships inside the package: the experiment configs and the pretrained model folders.

Both are package data (``wstag/configs/*.yaml``, ``wstag/pretrained/NAME/``), so an
installed wheel finds them without the source tree; the repository's ``configs`` is a
symlink to ``wstag/configs``. Names resolve the same way everywhere: an existing path
wins, else a shipped name, else one line listing what ships.
"""

from __future__ import annotations

import os
from pathlib import Path

from wstag.errors import ConfigError, ModelFolderError

PACKAGE_DIR = Path(__file__).resolve().parent
CONFIG_DIR = PACKAGE_DIR / "configs"
PRETRAINED_DIR = PACKAGE_DIR / "pretrained"
#: The model ``wstag ground default ...`` and ``Grounder.load("default")`` use.
DEFAULT_MODEL = "default"
#: The model folder's own files; a shipped folder also holds its card (card.json, MODEL_CARD.md).
CARD_JSON = "card.json"
CARD_MD = "MODEL_CARD.md"


def shipped_configs() -> list[str]:
    """Names (file stems) of the experiment configs inside the package."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


def config_path(name_or_path: str | os.PathLike) -> Path:
    """An experiment YAML: an existing file wins, else a shipped config by name (``.yaml`` optional)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    stem = path.name[:-len(".yaml")] if path.name.endswith(".yaml") else path.name
    shipped = CONFIG_DIR / f"{stem}.yaml"
    if str(path.parent) in (".", "configs") and shipped.is_file():
        return shipped
    raise ConfigError(f"{name_or_path}: no such config file, nor a shipped config of that name "
                      f"(shipped: {', '.join(shipped_configs())})")


def shipped_models(root: Path = PRETRAINED_DIR) -> list[str]:
    """Names of the pretrained model folders inside the package."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / "config.json").is_file())


def is_shipped_name(name_or_path: str | os.PathLike) -> bool:
    """True when ``name_or_path`` is not an existing path but names a shipped model."""
    return not Path(name_or_path).exists() and str(name_or_path) in shipped_models()


def resolve_model(name_or_path: str | os.PathLike) -> Path:
    """A model folder: an existing path wins, else a shipped model by name, else one clear error."""
    path = Path(name_or_path)
    if path.exists():
        return path
    if str(name_or_path) in shipped_models():
        return PRETRAINED_DIR / str(name_or_path)
    names = shipped_models()
    listed = ", ".join(names) if names else "none"
    raise ModelFolderError(f"model folder {name_or_path} does not exist, nor is it a shipped model's name "
                           f"(shipped: {listed})")
