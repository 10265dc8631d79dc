"""wstag: weakly-supervised text-to-audio grounding (Xu et al., "Towards Weakly
Supervised Text-to-Audio Grounding").

Find when a sound described in plain language happens in a recording, with a model
trained on captioned clips only.
"""

__version__ = "0.1.0"
