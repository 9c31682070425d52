"""The translation service behind ``s2s-serve``: a JSON API, a page to try a model, and
dynamic batching.

FastAPI (with uvicorn) is the usual choice of the Python ecosystem for a small JSON service:
request handling is asynchronous, the OpenAPI page comes with it, and graceful shutdown on
SIGTERM (stop accepting, finish what was accepted) is uvicorn's own. Both are the optional
extra ``serve``.

**Dynamic batching**: every input of every request goes into one queue; a single worker
thread (the only one that touches TensorFlow) takes the first waiting input, what is queued
and, while busy, what arrives within ``max_wait_ms``, up to ``max_batch_size`` inputs,
groups it by decoding settings and decodes each group with one call of the compiled loop.
The event loop only awaits the results, so the server keeps accepting while a batch decodes.
"""

import asyncio
import dataclasses
import json
import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from seq2seq.api import Limits, RequestError, answers, decoding_of, parse_request
from seq2seq.errors import Seq2SeqError
from seq2seq.settings import DecodingSettings
from seq2seq.translation import Translator

log = logging.getLogger(__name__)


@dataclass
class Work:
    """One input waiting to be decoded, and where its answer goes."""

    text: str
    decoding: DecodingSettings
    future: Future = field(default_factory=Future)
    prefix: str | None = None  # the start its translation must have


class Batcher:
    """The decoding worker: one thread, batches of waiting inputs grouped by settings."""

    def __init__(self, translator: Translator, max_batch_size: int = 64, max_wait_ms: float = 5):
        self.translator = translator
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait_ms / 1000.0
        self.queue: queue.Queue[Work | None] = queue.Queue()
        self.calls = 0  # decode-loop calls made (a batch of one group is one call)
        self.inputs = 0  # inputs decoded
        self.accepted = 0  # inputs submitted (decoded or waiting)
        self._busy = False  # the last batch held more than one input: others are coming
        self.thread = threading.Thread(target=self._run, name="seq2seq-batcher", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Finishes what was queued, then ends the worker."""
        self.queue.put(None)
        self.thread.join()

    def submit(self, text: str, decoding: DecodingSettings, prefix: str | None = None) -> Future:
        work = Work(text, decoding, prefix=prefix)
        self.accepted += 1
        self.queue.put(work)
        return work.future

    def _take(self) -> tuple[list[Work], bool]:
        """The next batch: the first waiting input and what is already queued, plus, while
        the server is busy (its last batch held more than one input), what arrives within
        ``max_wait``. An input alone on an idle server is decoded at once, not made to
        wait for company that is not coming."""
        first = self.queue.get()
        if first is None:
            return [], True
        wait = self.max_wait if self._busy else 0.0
        batch, deadline = [first], time.monotonic() + wait
        while len(batch) < self.max_batch_size:
            try:
                left = deadline - time.monotonic()
                item = self.queue.get(timeout=left) if left > 0 else self.queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self.queue.put(None)  # stop after this batch
                break
            batch.append(item)
        self._busy = len(batch) > 1
        return batch, False

    def _run(self) -> None:
        while True:
            batch, stop = self._take()
            if stop:
                return
            # Work whose request was abandoned (its future cancelled) is not decoded.
            batch = [work for work in batch if work.future.set_running_or_notify_cancel()]
            groups: dict[tuple, list[Work]] = {}
            for work in batch:  # every setting, the rule's parameters too (compare=False)
                d = work.decoding  # repr: settings that compare equal but differ (2.0, 2)
                key = tuple(repr(getattr(d, f.name)) for f in dataclasses.fields(d))
                if getattr(d.params, "seed", None) is not None:
                    # A seeded draw depends on its batch: decoded alone, it is reproducible
                    # (the same as s2s-translate of that input with that seed).
                    key = (*key, id(work))
                groups.setdefault(key, []).append(work)
            for works in groups.values():
                self._decode(works[0].decoding, works)

    def _decode(self, decoding: DecodingSettings, works: list[Work]) -> None:
        """Decodes one group; if the group fails, each input is decoded alone, so that one
        request's failure is never another's."""
        try:
            prefixes = [w.prefix for w in works] if any(w.prefix for w in works) else None
            candidates = self.translator.candidates(
                [w.text for w in works], batch_size=len(works), prefixes=prefixes,
                **decoding.options(),
            )  # fmt: skip
            self.calls += 1
            self.inputs += len(works)
        except Exception as exc:  # answered to each waiting request, never a dead worker
            if len(works) > 1:
                for work in works:
                    self._decode(work.decoding, [work])
                return
            works[0].future.set_exception(exc)
            return
        for work, cands in zip(works, candidates, strict=True):
            work.future.set_result(cands)


#: Request bodies up to this size are parsed, and their answers (without alignments)
#: encoded, on the event loop: microseconds, less than a hop to a worker thread.
INLINE_BYTES = 4096


def page() -> str:
    """The HTML page served at ``/``."""
    return resources.files("seq2seq.static").joinpath("index.html").read_text(encoding="utf-8")


def create_app(
    translator: Translator,
    info: dict[str, Any],
    limits: Limits | None = None,
    defaults: dict[str, Any] | None = None,
    max_batch_size: int = 64,
    max_wait_ms: float = 5,
    allowed_hosts: Sequence[str] | None = None,
):
    """The FastAPI application: ``POST /translate`` (a JSON body), ``GET /health``,
    ``GET /info``, ``GET /`` (the page) and the OpenAPI description at ``/openapi.json``
    (no Swagger page: it would load its scripts from a CDN). With ``allowed_hosts``, a
    request whose ``Host`` header names another host is refused (400)."""
    from contextlib import asynccontextmanager

    from fastapi import FastAPI
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    defaults, limits = dict(defaults or {}), limits or Limits()
    batcher = Batcher(translator, max_batch_size, max_wait_ms)
    state = {"ready": False}

    @asynccontextmanager
    async def lifespan(app):
        batcher.start()
        await asyncio.wrap_future(batcher.submit("1", decoding_of({}, defaults, 0)))  # warm up
        state["ready"] = True
        yield
        state["ready"] = False
        batcher.stop()  # what was accepted is finished first

    app = FastAPI(
        title="seq2seq translation service", lifespan=lifespan, docs_url=None, redoc_url=None
    )
    if allowed_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    app.state.batcher = batcher
    _add_routes(app, translator, batcher, state, info, limits, defaults)
    return app


async def _read_body(request, limits: Limits) -> bytes | None:
    """The request's body, read no further than one byte past ``max_body_bytes`` (a chunked
    body announces no length: it is refused as soon as it passes the limit, not once read)
    and within ``body_seconds``; None when the client went away before sending it all."""
    from starlette.requests import ClientDisconnect

    async def read() -> bytes:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limits.max_body_bytes:
                break
        return bytes(body)

    try:
        return await asyncio.wait_for(read(), timeout=limits.body_seconds)
    except ClientDisconnect:
        log.info("a client went away before sending its body")
        return None
    except TimeoutError:
        raise RequestError(
            408, f"the body did not arrive within {limits.body_seconds:g} s"
        ) from None


async def _parsed(body: bytes, limits: Limits, defaults: dict[str, Any]) -> list[dict]:
    """The request's items. CPU work (parsing, alignments) runs off the event loop, so that
    /health never waits for it; but a small body is parsed in place (a hop to a worker
    thread costs more than its parse)."""
    if len(body) <= INLINE_BYTES:
        return parse_request(body, limits, defaults)
    return await asyncio.to_thread(parse_request, body, limits, defaults)


async def _results_unless_gone(request, futures: list[Future]) -> list | None:
    """The futures' results; None, with the work not yet started cancelled (the batcher
    skips it), when the client disconnects first."""
    gathered = asyncio.gather(*(asyncio.wrap_future(f) for f in futures))
    while True:
        done, _ = await asyncio.wait({gathered}, timeout=0.25)
        if done:
            return gathered.result()
        if await request.is_disconnected():
            gathered.cancel()
            gathered.add_done_callback(_retrieved)  # never "exception was never retrieved"
            for future in futures:
                future.cancel()
            log.info("a client went away: %d input(s) not decoded for it", len(futures))
            return None


def _retrieved(future: asyncio.Future) -> None:
    """Marks a finished future's outcome as seen."""
    if not future.cancelled():
        future.exception()


def _check_headers(headers: Any, limits: Limits) -> None:
    """Refuses a POST that is not JSON (a form or text/plain POST from another page) or that
    announces a body over the limit."""
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise RequestError(415, "the body must be JSON (Content-Type: application/json)")
    length = headers.get("content-length", "")
    if length.isdigit() and int(length) > limits.max_body_bytes:
        raise RequestError(413, f"the body is over max_body_bytes={limits.max_body_bytes}")


def _add_routes(app, translator, batcher, state, info, limits, defaults) -> None:
    """The service's routes on ``app`` (see :func:`create_app`)."""
    from fastapi import Request, Response
    from fastapi.responses import HTMLResponse, JSONResponse

    @app.exception_handler(RequestError)
    async def bad_request(request: Request, exc: RequestError):
        return JSONResponse({"error": str(exc)}, status_code=exc.status)

    @app.post("/translate")
    async def translate(request: Request):
        _check_headers(request.headers, limits)
        body = await _read_body(request, limits)
        if body is None:  # nobody to answer
            return Response(status_code=400)
        items = await _parsed(body, limits, defaults)
        settings = [decoding_of(item, defaults, i) for i, item in enumerate(items)]  # all first
        futures = [batcher.submit(item["src"], d, item.get("prefix"))
                   for item, d in zip(items, settings, strict=True)]  # fmt: skip
        try:
            results = await _results_unless_gone(request, futures)
        except Seq2SeqError as exc:
            raise RequestError(422, str(exc)) from None
        if results is None:  # the client went away: nobody to answer
            return Response(status_code=400)

        def encoded() -> bytes:  # the answers and their JSON (megabytes with alignments)
            found = answers(translator, items, results)
            # entry by entry: one C call of json.dumps holds the GIL for all of it
            parts = (json.dumps(f, ensure_ascii=False, allow_nan=False) for f in found)
            return ("[" + ",".join(parts) + "]").encode("utf-8")

        quick = len(body) <= INLINE_BYTES and not any(item.get("alignment") for item in items)
        content = encoded() if quick else await asyncio.to_thread(encoded)
        return Response(content, media_type="application/json")

    @app.get("/health")
    async def health():
        status = 200 if state["ready"] else 503
        return JSONResponse({"ready": state["ready"]}, status_code=status)

    @app.get("/info")
    async def info_page():
        stats = {"inputs_accepted": batcher.accepted, "inputs_decoded": batcher.inputs,
                 "decode_calls": batcher.calls}  # fmt: skip
        return {
            **info,
            "decoding_defaults": defaults,
            "limits": limits.__dict__,
            "max_batch_size": batcher.max_batch_size,
            "max_wait_ms": batcher.max_wait * 1000.0,
            "stats": stats,
        }

    @app.get("/", response_class=HTMLResponse)
    async def index():
        return page()
