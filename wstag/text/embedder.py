"""What a phrase embedder is: texts in, one unit-norm vector per text out.

The samplers of Alg. 1 and 2 take any of them: a CLAP text tower trained on the
captions (the paper's) or the pretrained Sentence-BERT of Fig. 10 (``wstag.text.sbert``).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

#: texts -> (N, D) unit-norm embeddings
PhraseEmbedder = Callable[[Sequence[str]], np.ndarray]
