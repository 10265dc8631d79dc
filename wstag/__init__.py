"""wstag: weakly-supervised text-to-audio grounding (Xu et al., "Towards Weakly
Supervised Text-to-Audio Grounding").

Find when a sound described in plain language happens in a recording, with a model
trained on captioned clips only::

    from wstag import Grounder
    grounder = Grounder.load("default")  # the shipped model, or a model folder
    for d in grounder.ground("my.wav", ["a dog barks"]):
        print(d.phrase, d.onset, d.offset, d.peak)

The names below are imported on first use, so ``import wstag`` (and the ``wstag``
command's start-up) does not pay for torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_LAZY = {
    "Grounder": "wstag.inference.grounder",
    "Encoded": "wstag.inference.results",
    "Scores": "wstag.inference.results",
    "Detection": "wstag.inference.results",
    "Detections": "wstag.inference.results",
}

__all__ = ["__version__", *_LAZY]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ imports on demand
    from wstag.inference.grounder import Grounder
    from wstag.inference.results import Detection, Detections, Encoded, Scores


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'wstag' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
