"""Where a result came from: the code commit and a hash of the experiment config.

Every result file (a model folder's config.json, a demo's metrics JSON) records both
beside the seed, epochs, seconds and corpus hash, so a figure in a report can be traced
to the exact code and settings that produced it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any, Mapping

_SOURCE = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=1)
def code_commit() -> str:
    """The source tree's git commit, with ``-dirty`` when it has uncommitted changes;
    ``unknown`` for an installed copy outside a git checkout.

    Read once per process: a process runs the code it loaded, so every result it writes (a
    runner trains many rows in one process) names the tree as it was at the first call, not
    as later edits left it. Long runs call it when they start.
    """
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(_SOURCE), *args], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def config_hash(config: Mapping[str, Any]) -> str:
    """First 16 hex digits of the SHA-256 of the config as canonical JSON."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
