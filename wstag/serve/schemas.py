"""The JSON API's types: what the page sends and receives (FastAPI publishes them as OpenAPI).

Curves are sent as the exact float32 values the model produced, so the page can cut
segments at any threshold and get, bit for bit, what ``Grounder.ground`` returns (the
rule is in ``wstag.serve.app``'s docstring and ``static/app.js``: ``segmentsAt``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

RecordingKind = Literal["corpus", "upload", "index"]


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer: one line that names the problem."""

    detail: str


class Limits(BaseModel):
    """What the server accepts; the page states these beside the upload button."""

    max_upload_bytes: int
    max_upload_seconds: float
    formats: list[str] = Field(description="file extensions accepted for uploads")
    content_types: list[str] = Field(description="multipart content types accepted for uploads")
    max_phrases: int
    max_phrase_chars: int


class ServerInfo(BaseModel):
    model: str = Field(description="the model folder answering the queries")
    vocabulary_size: int
    corpus: str | None = Field(None, description="the corpus whose clips can be chosen")
    splits: list[str] = []
    index: str | None = Field(None, description="the collection index searched by /api/search")
    index_files: int = 0
    index_hours: float = 0.0
    default_threshold: float
    default_median: int
    limits: Limits


class Recording(BaseModel):
    """A recording the server may serve: a corpus clip, an upload, or a file of the index."""

    id: str = Field(description="'corpus:SPLIT/FILE', 'upload:HASH' or 'index:FILE'")
    kind: RecordingKind
    name: str
    duration: float | None = Field(None, description="seconds, when known")
    audio_url: str
    spectrogram_url: str


class CorpusClip(Recording):
    caption: str = ""
    phrases: list[str] = Field([], description="the caption's phrases (the corpus labels)")


class ClipList(BaseModel):
    split: str
    clips: list[CorpusClip]


class GroundRequest(BaseModel):
    recording: str = Field(description="a recording id from /api/clips, /api/uploads or /api/search")
    phrases: list[str] = Field(description="one or more phrases, e.g. 'a dog barks'")
    threshold: float = Field(0.5, description="a (median-filtered) frame counts when its probability is above this")
    median: int = Field(1, description="median filter window in frames, odd (1 = none)")


class Segment(BaseModel):
    onset: float = Field(description="seconds")
    offset: float = Field(description="seconds")
    peak: float = Field(description="the highest raw frame probability inside")


class PhraseResult(BaseModel):
    phrase: str
    curve: list[float] = Field(description="probability of each 40 ms frame (frame k starts at k * hop)")
    filtered: list[float] | None = Field(None, description="the curve after the median filter; null when median=1")
    segments: list[Segment]
    ignored_words: list[str] = Field([], description="words the model does not know (left out of the phrase)")
    reference: list[Segment] | None = Field(None, description="the corpus label's segments of this phrase, if any")


class GroundResult(BaseModel):
    recording: Recording
    threshold: float
    median: int
    hop_samples: int = Field(description="samples per output frame; frame k starts at k * hop_samples / sample_rate")
    sample_rate: int
    duration: float
    phrases: list[PhraseResult]
    warnings: list[str] = []
    encoded: bool = Field(description="true when this query ran the audio encoder (false: cached embeddings)")
    seconds: float = Field(description="server time for this answer")


class Moment(BaseModel):
    recording: str = Field(description="the recording id, for /api/audio and /api/ground")
    file: str = Field(description="the file, relative to the index's audio folder")
    onset: float
    offset: float
    score: float
    audio_url: str


class SearchResult(BaseModel):
    phrase: str
    threshold: float
    median: int
    moments: list[Moment]
    files: int
    hours: float
    best: Moment | None = Field(None, description="the single highest frame, even below the threshold")
    ignored_words: list[str] = []
    seconds: float
