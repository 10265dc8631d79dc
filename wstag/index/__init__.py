"""Collection search: encode a folder of recordings once, then find a phrase across all of them.

``Index.build(audio_dir, model, out)`` writes float16 frame embeddings (memory-mapped
``.npy`` shards) beside a JSON manifest; ``Index.open(out).search("a siren wails")``
returns ranked ``Moment``s (file, onset, offset, score). The CLI is ``wstag index
build`` and ``wstag search``.
"""

from wstag.index.build import BuildReport, build_index
from wstag.index.collection import Index
from wstag.index.search import Moment, Moments

__all__ = ["Index", "Moment", "Moments", "BuildReport", "build_index"]
