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

The package stands on floors; a module imports its own package and lower floors only
(``tests/test_layers.py`` checks it):

    floor 0: errors
    floor 1: files, records, seeding, provenance, logs, shipped
    floor 2: audio, text
    floor 3: data, models, sampling, evaluation
    floor 4: inference, scapes
    floor 5: index
    floor 6: training
    floor 7: experiments, serve
    floor 8: cli

``files`` (atomic writes, JSON, folder swaps) and ``records`` (clip, phrase, segment)
are the ground every floor stands on; models never import data, training or the
command line; evaluation never imports a model.
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
