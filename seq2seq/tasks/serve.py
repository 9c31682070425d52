"""``s2s-serve``: an HTTP translation service for a run (or an ensemble), with dynamic
batching and a page to try it (:mod:`seq2seq.serving`). Binds to 127.0.0.1 by default."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig

from seq2seq.api import Limits, RequestError, decoding_of
from seq2seq.checks import positive
from seq2seq.errors import Seq2SeqError
from seq2seq.serving import create_app
from seq2seq.tasks.common import config_values, open_translator, optional_path, run_dirs

log = logging.getLogger(__name__)
USAGE = "s2s-serve run_dir=<run> [port=8000] [host=127.0.0.1]"


@dataclass(frozen=True)
class ServeSettings:
    """The ``serve`` config, parsed once.

    Attributes:
        run_dirs: the trained run, or the runs of an ensemble.
        host: the address to bind (127.0.0.1: this machine only).
        port: the TCP port.
        limits: body size, inputs per request, characters per input.
        max_batch_size: most inputs decoded by one call of the compiled loop.
        max_wait_ms: how long the first waiting input waits for others to join it.
        decoding: the defaults of every input (each request may set its own).
        allowed_hosts: the ``Host`` headers answered (others get 400).
        shutdown_seconds: how long a stop waits for open connections.
        lexicon: a ``source<TAB>target`` file answering the inputs it holds (None: none).
        litert_dir: a LiteRT export of the run that decodes the requests it fits (None:
            TensorFlow decodes every request).
    """

    run_dirs: tuple[str, ...]
    host: str
    port: int
    limits: Limits
    max_batch_size: int
    max_wait_ms: float
    decoding: dict[str, Any]
    allowed_hosts: tuple[str, ...]
    shutdown_seconds: float
    lexicon: str | None = None
    litert_dir: str | None = None

    @classmethod
    def from_config(cls, cfg: DictConfig) -> ServeSettings:
        """Parses and checks a composed ``serve`` config."""
        values = config_values(cfg)
        decoding = dict(values.get("decoding") or {})
        decoding["decoding"] = decoding.pop("name", "greedy")
        try:  # a bad default is refused now, not per request
            decoding_of(decoding, {}, 0)
        except RequestError as exc:
            raise Seq2SeqError(str(exc).removeprefix("input 0: ")) from None
        port = values.get("port", 8000)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise Seq2SeqError(f"port must be 0-65535 (0: any free port), got {port!r}")
        return cls(
            run_dirs=run_dirs(values, USAGE),
            lexicon=optional_path(values, "lexicon"),
            litert_dir=optional_path(values, "litert_dir"),
            host=str(values.get("host") or "127.0.0.1"),
            port=port,
            limits=Limits(
                max_body_bytes=positive("max_body_bytes", values.get("max_body_bytes", 10**6)),
                max_inputs=positive("max_inputs", values.get("max_inputs", 256), at_most=10**5),
                max_chars=positive("max_chars", values.get("max_chars", 1000), at_most=10**6),
                body_seconds=positive(
                    "body_seconds", values.get("body_seconds", 30), float, at_most=3600
                ),
            ),
            shutdown_seconds=positive(
                "shutdown_seconds", values.get("shutdown_seconds", 30), float, at_most=3600
            ),
            max_batch_size=positive(
                "max_batch_size", values.get("max_batch_size", 64), at_most=4096
            ),
            max_wait_ms=positive(
                "max_wait_ms", values.get("max_wait_ms", 5), float, at_most=10_000
            ),
            decoding={k: v for k, v in decoding.items() if v is not None},
            allowed_hosts=_allowed_hosts(
                values.get("allowed_hosts"), str(values.get("host") or "127.0.0.1")
            ),
        )


def _allowed_hosts(given: Any, host: str) -> tuple[str, ...]:
    """``allowed_hosts``, or by default the names of this machine's loopback and the bound
    host."""
    if given is None:
        return tuple(dict.fromkeys([host, "localhost", "127.0.0.1", "::1", "[::1]"]))
    if isinstance(given, str) or not all(isinstance(h, str) and h for h in given):
        raise Seq2SeqError(f"allowed_hosts must be a list of host names, got {given!r}")
    return tuple(given)


def serve(cfg: DictConfig) -> None:
    """Hydra task: binds the address, loads the run(s), then serves until SIGTERM or Ctrl-C
    (exit 0)."""
    settings = ServeSettings.from_config(cfg)
    with contextlib.closing(listen(settings.host, settings.port)) as sock:
        _serve_on(sock, settings)


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (port 0: a free one), before the model loads, so that
    a busy port or a host that does not resolve is one line, not a failure after start-up.

    Raises:
        Seq2SeqError: naming the address and why.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise Seq2SeqError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise Seq2SeqError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def _serve_on(sock: socket.socket, settings: ServeSettings) -> None:
    """Loads the run(s) and serves on ``sock`` until SIGTERM or Ctrl-C."""
    import uvicorn

    translator = open_translator(settings.run_dirs, settings.lexicon)
    if settings.litert_dir:
        from seq2seq.litert import LiteRTEngine

        translator.engine = LiteRTEngine(settings.litert_dir, translator)
        log.info("LiteRT (%s) decodes the requests with %s", settings.litert_dir,
                 translator.engine.client.spec["decoding"])  # fmt: skip
    info = {
        "run_dirs": list(settings.run_dirs),
        "model": type(translator.model).__name__,
        "vocabulary": translator.source_vocab.name,
        "source_vocab_size": len(translator.source_vocab),
        "target_vocab_size": len(translator.target_vocab),
        "max_output_length": translator.max_output_length,
        "lexicon_entries": len(translator.lexicon),
        "litert_dir": settings.litert_dir,
    }
    app = create_app(translator, info, settings.limits, settings.decoding,
                     settings.max_batch_size, settings.max_wait_ms,
                     allowed_hosts=settings.allowed_hosts)  # fmt: skip
    host, port = sock.getsockname()[:2]  # the real port when port=0
    log.info("serving %s on http://%s:%d/ (Ctrl-C stops)", " + ".join(settings.run_dirs),
             f"[{host}]" if ":" in host else host, port)  # fmt: skip
    config = uvicorn.Config(
        app, log_level="warning", timeout_keep_alive=5,
        timeout_graceful_shutdown=settings.shutdown_seconds,
    )  # fmt: skip
    _run_gracefully(config, sock)
    log.info("stopped")


def _run_gracefully(config, sock: socket.socket) -> None:
    """Runs uvicorn's server; a stop asked for by SIGTERM or Ctrl-C (after finishing what
    was accepted, for at most ``shutdown_seconds``) ends with status 0, where uvicorn would
    raise the signal again on exit. A second signal during that wait stops at once: status
    128 + the signal, as for a process the signal killed."""
    import uvicorn

    class GracefulServer(uvicorn.Server):
        forced_by: int | None = None

        def handle_exit(self, sig, frame):
            if self.should_exit:  # uvicorn forces only on a second SIGINT
                self.force_exit, self.forced_by = True, sig
            super().handle_exit(sig, frame)

        @contextlib.contextmanager
        def capture_signals(self):
            with super().capture_signals():
                yield
                self._captured_signals.clear()

    server = GracefulServer(config)
    server.run(sockets=[sock])
    if server.forced_by is not None:
        log.warning("stopped at once by a second signal: open requests were abandoned")
        logging.shutdown()
        os._exit(128 + server.forced_by)  # worker threads still decoding are not waited for
