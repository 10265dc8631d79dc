"""The web app: one page (``static/``) over a typed JSON API (``/openapi.json``).

::

    GET  /                    the page
    GET  /api/info            the model, the corpus, the index and the upload limits
    GET  /api/clips?split=    a corpus split's clips (caption, phrases)
    POST /api/uploads         a wav/flac/ogg/mp3 file (multipart field "file") -> a recording
    POST /api/ground          recording id, phrases, threshold, median -> curves and segments
    GET  /api/audio?recording=        the recording's bytes (the page's audio element)
    GET  /api/spectrogram?recording=  its log-mel as a PNG
    GET  /api/search?phrase=  ranked moments across the index (with --index)

Every refusal is a 4xx whose body is ``{"detail": "one line"}``; an unexpected failure
is a 500 with one line too (the traceback goes to the server's log, never to the
client). The model answers one request at a time (a lock): the Grounder's cache and
torch are not shared between threads, and on a CPU a second model run at the same time
would only make both slower.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import threading
import warnings
from collections import OrderedDict
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, File, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from wstag.audio.io import audio_info
from wstag.errors import WstagError
from wstag.inference.grounder import Grounder
from wstag.serve import answers
from wstag.serve.guards import RequestGuard
from wstag.serve import schemas as S
from wstag.serve.recordings import CONTENT_TYPES, FORMATS, Corpus, Recordings, Refused, Uploads
from wstag.serve.spectrogram import MAX_SPECTROGRAM_SECONDS, logmel_png

STATIC = Path(__file__).parent / "static"
MAX_UPLOAD_BYTES = 20_000_000
MAX_UPLOAD_SECONDS = 600.0
MAX_PHRASES = 8
MAX_PHRASE_CHARS = 200
SPECTROGRAMS_KEPT = 32
MAX_CHANNELS = 8  # from the header, before decoding: Ogg allows 255, and each costs memory while decoding
MAX_SAMPLE_RATE = 192_000
MAX_DECODES = 2  # spectrograms decoded at once (outside the model lock)
MAX_JSON_BYTES = 64_000  # a ground request: 8 phrases of 200 characters and a recording id
MAX_WAITING = 8  # requests to the model routes in the server at once; the next gets 503
MODEL_ROUTES = frozenset({"/api/uploads", "/api/ground", "/api/search", "/api/spectrogram"})
MEDIA_TYPES = {".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg", ".mp3": "audio/mpeg"}
ERRORS = {code: {"model": S.ErrorBody} for code in (400, 403, 404, 413, 415, 422, 500, 503)}

log = logging.getLogger("wstag.serve")


def default_limits(max_upload_bytes: int = MAX_UPLOAD_BYTES) -> S.Limits:
    return S.Limits(max_upload_bytes=max_upload_bytes, max_upload_seconds=MAX_UPLOAD_SECONDS,
                    formats=[f.lstrip(".") for f in FORMATS], content_types=list(CONTENT_TYPES),
                    max_phrases=MAX_PHRASES, max_phrase_chars=MAX_PHRASE_CHARS)


def create_app(grounder: Grounder, *, corpus: str | Path | None = None, index: str | Path | None = None,
               uploads_dir: str | Path | None = None, max_upload_bytes: int = MAX_UPLOAD_BYTES,
               allowed_hosts: list[str] | None = None) -> FastAPI:
    """The app for one model; ``corpus`` and ``index`` folders are optional (checked here, before serving).

    Uploads go to ``uploads_dir`` (a temporary folder, deleted at shutdown, when None).
    ``allowed_hosts``: the Host headers answered (``wstag serve`` on the loopback address
    gives its names, so a web page elsewhere cannot reach it through DNS rebinding).
    """
    limits = default_limits(max_upload_bytes)
    own_uploads = uploads_dir is None
    uploads_path = Path(tempfile.mkdtemp(prefix="wstag-serve-")) if own_uploads else Path(uploads_dir)
    recordings = Recordings(Uploads(uploads_path, max_upload_bytes),
                            Corpus(corpus) if corpus is not None else None, _open_index(index, grounder))
    model_lock = threading.Lock()
    spectrograms: OrderedDict[tuple, bytes] = OrderedDict()
    spectrogram_lock = threading.Lock()
    decodes = threading.BoundedSemaphore(MAX_DECODES)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        if own_uploads:
            shutil.rmtree(uploads_path, ignore_errors=True)

    app = FastAPI(title="wstag", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Find when described sounds happen in a recording (weakly-supervised "
                              "text-to-audio grounding). The interactive docs are off: they load from a CDN.")
    app.state.grounder = grounder
    app.state.recordings = recordings
    app.state.limits = limits
    _add_error_handlers(app)
    app.add_middleware(RequestGuard, body_limits={"/api/uploads": max_upload_bytes},
                       body_slack={"/api/uploads": 64_000},  # the multipart frame around the file
                       default_body=MAX_JSON_BYTES, model_routes=MODEL_ROUTES, max_waiting=MAX_WAITING,
                       allowed_hosts=allowed_hosts)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/info", response_model=S.ServerInfo)
    def info() -> S.ServerInfo:
        idx = recordings.index
        # names, not paths: the page (and a screenshot of it) need not show where files live
        return S.ServerInfo(model=Path(grounder.model_dir).name, vocabulary_size=len(grounder.vocab.words),
                            corpus=Path(recordings.corpus.folder).name if recordings.corpus else None,
                            splits=recordings.corpus.splits if recordings.corpus else [],
                            index=Path(idx.path).name if idx else None, index_files=len(idx.manifest.files) if idx else 0,
                            index_hours=idx.hours if idx else 0.0, default_threshold=0.5, default_median=1,
                            limits=limits)

    @app.get("/api/clips", response_model=S.ClipList, responses=ERRORS)
    def clips(split: str = Query("test", max_length=64)) -> S.ClipList:
        if recordings.corpus is None:
            raise Refused(404, "no corpus: start the server with --corpus CORPUS to choose its clips")
        return S.ClipList(split=split, clips=[answers.corpus_clip(e) for e in recordings.corpus.clips(split)])

    @app.post("/api/uploads", response_model=S.Recording, responses=ERRORS)
    def upload(file: UploadFile = File(..., description="a wav, flac, ogg or mp3 file")) -> S.Recording:
        data = file.file.read(max_upload_bytes + 1)
        recordings.uploads.check(file.filename or "", file.content_type, file.size or len(data))  # its whole size
        entry, new = recordings.uploads.add(data, file.filename or "", file.content_type)
        if not new and entry.duration is not None:
            return answers.recording_info(entry)
        del data  # stored: the bytes need not wait for the model in memory
        try:
            seconds = check_header(entry, upload=True)
            if seconds > MAX_UPLOAD_SECONDS:
                raise Refused(413, f"{entry.name}: {seconds:.0f} s long; uploads may last at most "
                                   f"{MAX_UPLOAD_SECONDS:.0f} s")
            with model_lock, warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a silent recording is reported with its answers
                encoded = grounder.encode(entry.path)  # decodes all of it: a truncated file is refused now
        except (Refused, WstagError) as exc:
            recordings.uploads.discard(entry)
            status = exc.status if isinstance(exc, Refused) else 400
            raise Refused(status, str(exc).replace(str(entry.path), entry.name)) from None
        return answers.recording_info(recordings.uploads.set_duration(entry, encoded.duration))

    @app.post("/api/ground", response_model=S.GroundResult, responses=ERRORS)
    def ground(request: S.GroundRequest) -> S.GroundResult:
        entry = recordings.get(request.recording)
        with model_lock:
            try:
                return answers.ground(grounder, entry, request.phrases, request.threshold, request.median, limits)
            except WstagError as exc:
                raise Refused(400, str(exc).replace(str(entry.path), entry.name)) from None

    @app.get("/api/audio", response_class=FileResponse, responses=ERRORS)
    def audio(recording: str = Query(..., max_length=1000)) -> FileResponse:
        entry = recordings.get(recording)
        if not entry.path.is_file():
            raise Refused(404, f"{entry.name}: the file is no longer there")
        return FileResponse(entry.path, media_type=MEDIA_TYPES.get(entry.path.suffix.lower(), "audio/*"))

    @app.get("/api/spectrogram", response_class=Response, responses=ERRORS)
    def spectrogram(recording: str = Query(..., max_length=1000)) -> Response:
        entry = recordings.get(recording)
        try:
            stat = entry.path.stat()
            key = (entry.id, stat.st_size, stat.st_mtime_ns)
            with spectrogram_lock:
                png = spectrograms.get(key)
            if png is None:
                seconds = check_header(entry)
                if seconds > MAX_SPECTROGRAM_SECONDS:
                    raise Refused(422, f"{entry.name}: {seconds:.0f} s is too long for a spectrogram "
                                       f"(at most {MAX_SPECTROGRAM_SECONDS:.0f} s); the curves are still drawn")
                if not decodes.acquire(timeout=30):
                    raise Refused(503, "busy decoding other recordings; try again in a moment")
                try:
                    png = logmel_png(entry.path, grounder.front_end)
                finally:
                    decodes.release()
                with spectrogram_lock:
                    spectrograms[key] = png
                    while len(spectrograms) > SPECTROGRAMS_KEPT:
                        spectrograms.popitem(last=False)
        except FileNotFoundError:
            raise Refused(404, f"{entry.name}: the file is no longer there") from None
        except WstagError as exc:
            raise Refused(400, str(exc).replace(str(entry.path), entry.name)) from None
        return Response(png, media_type="image/png", headers={"Cache-Control": "max-age=3600"})

    @app.get("/api/search", response_model=S.SearchResult, responses=ERRORS)
    def search(phrase: str = Query(..., max_length=10_000), top: int = 20, threshold: float = 0.5,
               median: int = 1) -> S.SearchResult:
        if recordings.index is None:
            raise Refused(404, "no index: start the server with --index INDEX (built by `wstag index build`)")
        with model_lock:
            return answers.search(recordings.index, recordings, phrase, top, threshold, median, limits)

    return app


#: what libsndfile reports for each accepted file name extension
SNDFILE_FORMATS = {".wav": {"WAV", "WAVEX", "RF64"}, ".flac": {"FLAC"}, ".ogg": {"OGG"}, ".mp3": {"MP3", "MPEG"}}


def check_header(entry, upload: bool = False) -> float:
    """The recording's duration, after refusing from its header what would take too much memory to
    decode, and (an upload) a container other than its name says: the name alone proves nothing."""
    info = audio_info(entry.path)
    wanted = SNDFILE_FORMATS.get(entry.path.suffix.lower())
    if upload and wanted is not None and info.format not in wanted:
        raise Refused(415, f"{entry.name}: named {entry.path.suffix.lower()} but holds {info.format} audio; "
                           f"rename it to what it is")
    if info.channels > MAX_CHANNELS:
        raise Refused(422, f"{entry.name}: {info.channels} channels; at most {MAX_CHANNELS} are read")
    if info.sample_rate > MAX_SAMPLE_RATE:
        raise Refused(422, f"{entry.name}: {info.sample_rate} Hz; at most {MAX_SAMPLE_RATE} Hz is read")
    return info.duration


def _open_index(index: str | Path | None, grounder: Grounder):
    """The index, answering through ``grounder`` when the same model built it (else its own model folder)."""
    if index is None:
        return None
    from wstag.index.collection import Index
    from wstag.index.manifest import read_manifest

    manifest = read_manifest(index)
    same = manifest.model.id == grounder.model_id
    return Index(index, manifest, grounder if same else None, device=str(grounder.device))


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Refused)
    async def refused(_request: Request, exc: Refused) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)

    @app.exception_handler(WstagError)
    async def bad_input(_request: Request, exc: WstagError) -> JSONResponse:
        return JSONResponse({"detail": without_paths(" ".join(str(exc).split()))}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_message(exc.errors())}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error")  # the whole story goes to the server's log, not to the client
        return JSONResponse({"detail": f"internal error ({type(exc).__name__}); the server's log has the details"},
                            status_code=500)


#: an absolute path (POSIX or Windows) inside a message
_PATH = re.compile(r"(?:[A-Za-z]:)?[/\\](?:[^\s'\"/\\]+[/\\])+([^\s'\"/\\]*)")


def without_paths(text: str) -> str:
    """``text`` with every absolute path replaced by its last part (the file's name)."""
    return _PATH.sub(lambda m: m.group(1), text)


def validation_message(errors: list[dict]) -> str:
    """FastAPI's validation errors as one line: ``body.threshold: Input should be a valid number``."""
    parts = []
    for e in errors[:3]:
        where = ".".join(str(x) for x in e.get("loc", ()) if x != "body") or "request"
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(parts) + more
