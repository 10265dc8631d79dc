"""The server's answers, computed by the library: ``Grounder.ground`` and ``Index.search``.

Segments at a threshold follow one rule, ``Scores.detect`` (the evaluation's
``scores_to_segments``), which the page repeats in ``static/app.js`` (``segmentsAt``)
when the threshold slider moves, so the model is not run again:

1. a frame is active when its median-filtered probability (``filtered``, or ``curve``
   when ``median`` is 1) is strictly above the threshold;
2. each run of active frames ``a .. b-1`` is a segment from ``a * hop_samples /
   sample_rate`` to ``b * hop_samples / sample_rate`` seconds; a segment starting at
   or past the recording's end is dropped and the last offset is clipped to it;
3. its peak is the largest raw ``curve`` value over frames ``round(onset / hop)`` to
   ``max(ceil(offset / hop - 1e-6), first + 1)`` (``hop`` in seconds).

Curves travel as the model's exact float32 values, so the page and the API agree
exactly; a browser test checks that they do. Changing ``median`` asks the server again
(the embeddings are cached; only the filter and the dot products run).
"""

from __future__ import annotations

import time
import warnings
from typing import Sequence

from wstag.evaluation.segments import median_filter
from wstag.inference.grounder import Grounder
from wstag.serve import schemas as S
from wstag.serve.recordings import Entry, Refused


def check_phrase_list(phrases: Sequence[str], limits: S.Limits) -> list[str]:
    """Phrases trimmed; refuse none, too many, an overlong one or a repeated one (the model refuses empty ones)."""
    phrases = [p.strip() if isinstance(p, str) else p for p in phrases]
    if not phrases:
        raise Refused(400, "no phrase given: type one or more phrases, e.g. 'a dog barks'")
    if len(phrases) > limits.max_phrases:
        raise Refused(400, f"{len(phrases)} phrases; at most {limits.max_phrases} per query")
    for i, p in enumerate(phrases, start=1):
        if isinstance(p, str) and len(p) > limits.max_phrase_chars:
            raise Refused(400, f"phrase {i} is {len(p)} characters long; at most {limits.max_phrase_chars}")
    seen = set()
    for p in phrases:
        if p in seen:
            raise Refused(400, f"phrase {p!r} is given twice")
        seen.add(p)
    return phrases


def recording_info(entry: Entry) -> S.Recording:
    from urllib.parse import quote

    q = quote(entry.id, safe="")
    return S.Recording(id=entry.id, kind=entry.kind, name=entry.name, duration=entry.duration,
                       audio_url=f"/api/audio?recording={q}", spectrogram_url=f"/api/spectrogram?recording={q}")


def corpus_clip(entry: Entry) -> S.CorpusClip:
    return S.CorpusClip(**recording_info(entry).model_dump(), caption=entry.caption,
                        phrases=[p.text for p in entry.phrases])


def ground(grounder: Grounder, entry: Entry, phrases: Sequence[str], threshold: float, median: int,
           limits: S.Limits) -> S.GroundResult:
    """Ground ``phrases`` in a recording: curves, segments (the rule above), warnings, and whether it was encoded."""
    start = time.perf_counter()
    phrases = check_phrase_list(phrases, limits)
    if entry.duration is not None and entry.duration > limits.max_upload_seconds:  # an indexed file can last hours
        raise Refused(413, f"{entry.name}: {entry.duration:.0f} s is too long to ground on the page (at most "
                           f"{limits.max_upload_seconds:.0f} s: every frame's curve is sent); search the index, "
                           f"or use `wstag ground` on the file")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        calls = grounder.audio_encoder_calls
        for phrase in phrases:  # a refused phrase costs no audio encoding
            grounder.check_phrase(phrase)
        encoded = grounder.encode(entry.path)
        detections = grounder.ground(encoded, phrases, threshold=threshold, median=median)
        ran_encoder = grounder.audio_encoder_calls != calls
    scores = detections.scores
    reference = {p.text.strip().lower(): p.segments for p in entry.phrases if p.segments is not None}
    results = []
    for k, phrase in enumerate(scores.phrases):
        curve = scores.probabilities[:, k]
        ref = reference.get(phrase.lower())
        results.append(S.PhraseResult(
            phrase=phrase,
            curve=curve.tolist(),
            filtered=None if median == 1 else median_filter(curve, median).tolist(),
            segments=[S.Segment(onset=d.onset, offset=d.offset, peak=d.peak) for d in detections.of(phrase)],
            ignored_words=list(scores.ignored_words[k]) if scores.ignored_words else [],
            reference=None if ref is None else [S.Segment(onset=s.onset, offset=s.offset, peak=1.0) for s in ref],
        ))
    # warnings are process-wide: keep only those about this request (its recording or its phrases),
    # so that another thread's warning (with its user's file name) never reaches this answer
    mine = (str(entry.path), entry.name, *(f"phrase {p!r}" for p in phrases))
    notes = list(dict.fromkeys(n for n in (_one_line(w.message) for w in caught) if any(m in n for m in mine)))
    if encoded.silent and not any("silent" in n for n in notes):
        notes.append(f"{entry.name}: the recording is silent; every phrase gets low probabilities")
    grid = grounder.grid
    return S.GroundResult(
        recording=recording_info(entry), threshold=detections.threshold, median=detections.median,
        hop_samples=grid.output_hop_samples, sample_rate=grid.sample_rate, duration=scores.duration,
        phrases=results, warnings=[n.replace(str(entry.path), entry.name) for n in notes],
        encoded=ran_encoder, seconds=time.perf_counter() - start)


def search(index, recordings, phrase: str, top: int, threshold: float, median: int,
           limits: S.Limits) -> S.SearchResult:
    """Ranked moments of ``phrase`` across the index (``Index.search``), each with its recording id."""
    start = time.perf_counter()
    (phrase,) = check_phrase_list([phrase], limits)
    if not 1 <= top <= 200:
        raise Refused(400, f"top must be between 1 and 200, got {top}")
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        moments = index.search(phrase, top=top, threshold=threshold, median=median)

    def moment(m) -> S.Moment:
        info = recording_info(recordings.indexed(m.file))
        return S.Moment(recording=info.id, file=m.file, onset=m.onset, offset=m.offset, score=m.score,
                        audio_url=info.audio_url)

    return S.SearchResult(phrase=phrase, threshold=threshold, median=median, moments=[moment(m) for m in moments],
                          files=moments.n_files, hours=index.hours,
                          best=None if moments.best is None else moment(moments.best),
                          ignored_words=list(moments.ignored_words), seconds=time.perf_counter() - start)


def _one_line(message) -> str:
    return " ".join(str(message).split())
