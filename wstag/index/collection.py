"""``Index``: a folder of recordings encoded once, searched by phrase.

::

    from wstag.index import Index

    index = Index.build("recordings/", "runs/demo/run-seed0/model", "recordings.index")
    for m in index.search("a siren wails", top=20):
        print(m.file, m.onset, m.offset, m.score)
    index = Index.open("recordings.index")  # later: the model folder recorded in it is used

The phrase is embedded by the model that built the index (the Grounder's text path:
unknown words warned about, a phrase with no known sound word refused); any other
model is refused with one line.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from wstag.errors import ConfigError, ModelFolderError, QueryError
from wstag.index import search as S
from wstag.index.build import BuildReport, build_index
from wstag.index.manifest import FileEntry, Manifest, read_manifest
from wstag.inference.queries import check_median, check_phrases, check_threshold


class Index:
    """An index folder opened for searching (the model is loaded at the first query)."""

    def __init__(self, path: str | os.PathLike, manifest: Manifest, model=None, device: str = "cpu") -> None:
        self.path = Path(path)
        self.manifest = manifest
        self._model = model
        self.device = device
        self._grounder = None
        self.build_report: BuildReport | None = None
        self.last_search_seconds = 0.0

    # -- making and opening
    @classmethod
    def build(cls, audio_dir: str | os.PathLike, model, out: str | os.PathLike, *, device: str = "auto",
              progress=None, log=None, **options) -> "Index":
        """Encode every recording under ``audio_dir`` into ``out`` (resuming an index there); see ``build_index``."""
        report = build_index(audio_dir, model, out, device=device, progress=progress, log=log, **options)
        index = cls.open(out, model=model)
        index.build_report = report
        return index

    @classmethod
    def open(cls, path: str | os.PathLike, model=None, device: str = "cpu") -> "Index":
        """Open an index; ``model`` (a folder or a ``Grounder``) replaces the recorded folder, if it was moved."""
        return cls(path, read_manifest(path), model, device)

    # -- what is in it
    @property
    def files(self) -> list[FileEntry]:
        return [self.manifest.files[k] for k in sorted(self.manifest.files)]

    @property
    def audio_dir(self) -> Path:
        return Path(self.manifest.audio_dir)

    @property
    def hours(self) -> float:
        return self.manifest.seconds / 3600

    def path_of(self, file: str | S.Moment) -> Path:
        """The recording's path on disk."""
        return self.audio_dir / (file.file if isinstance(file, S.Moment) else file)

    def entry(self, file: str | os.PathLike | S.Moment) -> FileEntry:
        """The entry of an indexed file: its path relative to the audio folder, or its full path."""
        if isinstance(file, S.Moment):
            file = file.file
        key = str(file)
        if key not in self.manifest.files:  # a path on disk, under the audio folder
            try:
                key = Path(file).resolve().relative_to(self.audio_dir).as_posix()
            except ValueError:
                pass
        if key not in self.manifest.files:
            raise QueryError(f"{file}: not in the index {self.path}")
        return self.manifest.files[key]

    # -- the model
    @property
    def grounder(self):
        """The model that built the index (or ``model`` given to ``open``, if it is the same)."""
        if self._grounder is None:
            from wstag.inference.grounder import Grounder

            info = self.manifest.model
            model = self._model if self._model is not None else info.dir
            if isinstance(model, Grounder):
                g = model
            else:
                if self._model is None and not Path(info.dir).is_dir():
                    raise ModelFolderError(f"{self.path}: its model folder {info.dir} is gone; give the folder "
                                           f"that built it (model id {info.id}) with --model")
                g = Grounder.load(model, device=self.device)
            if g.model_id != info.id:
                raise ModelFolderError(f"{self.path}: indexed with another model (id {info.id}, {info.dir}) than "
                                       f"{g.model_dir} (id {g.model_id}); search with that model or build a new index")
            self._grounder = g
        return self._grounder

    def _phrase_embeddings(self, phrases: Sequence[str]) -> tuple[torch.Tensor, float, list[list[str]]]:
        """(query vectors (N, D) float16, logit bias, ignored words): ``logit = a_t . w_n + bias``."""
        text, ignored = self.grounder.embed_phrases(phrases)
        vectors, bias = self.grounder.model.query_vectors(text.float())
        return vectors.to(torch.float16), bias, ignored

    # -- answers
    def search(self, phrase: str, top: int = 20, threshold: float = 0.5, median: int = 1) -> S.Moments:
        """The ``top`` moments of the collection where ``phrase`` sounds, best first (see ``wstag.index.search``)."""
        if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
            raise ConfigError(f"top must be a positive whole number, got {top!r}")
        check_threshold(threshold)
        check_median(median)
        if not isinstance(phrase, str):
            raise QueryError(f"search takes one phrase (a string), got {type(phrase).__name__}")
        if not self.manifest.files:
            raise QueryError(f"{self.path}: the index holds no recordings ({len(self.manifest.failed)} could not "
                             f"be read; see `wstag index info {self.path}`)")
        self.grounder  # noqa: B018 - loaded (once) outside the timing
        start = time.perf_counter()
        text16, bias, ignored = self._phrase_embeddings([phrase])
        thr = S.logit(threshold)
        rank = {name: i for i, name in enumerate(sorted(self.manifest.files))}
        names = sorted(self.manifest.files)
        pool = [np.empty(0, np.float32), np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)]
        best = (-math.inf, None, 0)
        for shard, entries in S.iter_shards(self.manifest):
            n = max(e.offset + e.n_frames for e in entries)
            try:
                logits = S.shard_logits(self.path / shard, n, text16[0]) + np.float32(bias)
            except FileNotFoundError:
                raise ConfigError(f"{self.path}: {shard} is missing (the index changed during the search, "
                                  f"or was damaged); run the search again or rebuild") from None
            live = S.live_mask(n, entries)
            k = int(np.argmax(logits if live.all() else np.where(live, logits, -np.inf)))
            if logits[k] > best[0]:
                owner = int(np.searchsorted([e.offset for e in entries], k, side="right") - 1)
                best = (float(logits[k]), entries[owner], k - entries[owner].offset)
            peaks, owner, starts, stops = S.runs_in_shard(logits, live, entries, thr, median)
            offsets = np.array([e.offset for e in entries], dtype=np.int64)
            files = np.array([rank[entries[i].file] for i in owner], dtype=np.int64)
            pool = [np.concatenate([p, q]) for p, q in
                    zip(pool, (peaks, files, starts - offsets[owner], stops - offsets[owner]))]
            if len(pool[0]) > max(4 * top, 1 << 16):
                keep = S.best_first(pool[0], pool[1], pool[2], top)
                pool = [p[keep] for p in pool]
        grid = self.manifest.model.frame_grid
        out = []
        for i in S.best_first(pool[0], pool[1], pool[2], len(pool[0])):
            e = self.manifest.files[names[pool[1][i]]]
            onset = float(grid.frame_time(int(pool[2][i])))
            if onset >= e.duration:
                continue
            offset = min(float(grid.frame_time(int(pool[3][i]))), e.duration)
            out.append(S.Moment(e.file, onset, offset, float(S.sigmoid(pool[0][i]))))
            if len(out) == top:
                break
        best_moment = None
        if best[1] is not None:
            e, k = best[1], best[2]
            best_moment = S.Moment(e.file, float(grid.frame_time(k)),
                                   min(float(grid.frame_time(k + 1)), e.duration), float(S.sigmoid(best[0])))
        self.last_search_seconds = time.perf_counter() - start
        return S.Moments(out, phrase=phrase, threshold=threshold, median=median, n_files=len(names),
                         n_frames=self.manifest.n_frames, best=best_moment, ignored_words=tuple(ignored[0]))

    def scores(self, file: str | os.PathLike | S.Moment, phrases: str | Sequence[str]):
        """Frame probabilities of one indexed file, as ``Grounder.scores`` gives them (float16 frames)."""
        from wstag.inference.results import Scores

        phrases = check_phrases(phrases)
        text16, bias, ignored = self._phrase_embeddings(phrases)
        e = self.entry(file)
        logits = S.entry_logits(self.path, e, text16) + np.float32(bias)
        grid = self.manifest.model.frame_grid
        times = np.asarray(grid.frame_time(np.arange(e.n_frames)), dtype=np.float64)
        return Scores(tuple(phrases), times, S.sigmoid(logits).astype(np.float32), e.duration,
                      str(self.path_of(e.file)), grid, tuple(tuple(u) for u in ignored))

    def curve(self, file: str | S.Moment, phrase: str, first: int = 0, stop: int | None = None) -> np.ndarray:
        """The (frames,) probabilities of ``phrase`` over frames ``first:stop`` of one file."""
        text16, bias, _ = self._phrase_embeddings([phrase])
        logits = S.entry_logits(self.path, self.entry(file), text16, first, stop)[:, 0] + np.float32(bias)
        return S.sigmoid(logits).astype(np.float32)
