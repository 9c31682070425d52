"""Load test of ``s2s-serve`` on loopback: requests/s and latency at several concurrencies,
with dynamic batching and without (``max_batch_size=1``), every answer checked.

For each mode the benchmark starts ``s2s-serve`` as a child process bound to 127.0.0.1 on a
free port, waits for ``GET /health``, then for each concurrency ``c`` runs ``c`` clients that
each send single-sentence ``POST /translate`` requests one after the other, until
``requests`` requests have been sent or ``max_seconds`` have passed (bounded in count and
time, 127.0.0.1 only). Inputs are the run's test-split sources in turn; each answer is
compared with :meth:`Translator.translate`'s translation of the same input (the code path of
``s2s-translate``). Run with ``s2s-benchmark serve run_dir=<run>``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from seq2seq.bench.decode import benchmark_inputs
from seq2seq.errors import Seq2SeqError
from seq2seq.translation import Translator

log = logging.getLogger(__name__)
HOST = "127.0.0.1"


@dataclass
class LevelResult:
    """One concurrency level of one mode."""

    concurrency: int
    requests: int
    seconds: float
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    mismatches: int


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_server(
    run_dir: Path, max_batch_size: int, max_wait_ms: float, litert_dir: str | None = None
) -> tuple[Any, str]:
    """``s2s-serve`` as a child process on a free loopback port; returns it and its URL once
    ``/health`` answers 200 (or raises, naming the server's last words)."""
    import httpx

    port = free_port()
    command = [sys.executable, "-c", "from seq2seq.commands import serve; serve()",
               f"run_dir={run_dir}",
               f"host={HOST}", f"port={port}", f"max_batch_size={max_batch_size}",
               f"max_wait_ms={max_wait_ms}", "max_inputs=1",
               *([f"litert_dir={litert_dir}"] if litert_dir else [])]  # fmt: skip
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    url = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise Seq2SeqError(f"s2s-serve exited: {server.stderr.read()[-500:].strip()}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return server, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    server.terminate()
    raise Seq2SeqError("s2s-serve did not become healthy within 300 s")


class Connection:
    """One keep-alive HTTP/1.1 connection to the server, as lean as a client can be (the load
    generator shares the CPU with the server it measures: a general HTTP client spent about
    a core on 200 requests/s here)."""

    def __init__(self, url: str) -> None:
        self.host, _, port = url.removeprefix("http://").partition(":")
        self.port = int(port)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """Sends one POST; returns the status and the body of the answer."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json"
                f"\r\nContent-Length: {len(body)}\r\n\r\n")  # fmt: skip
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        if not status_line:
            raise ConnectionError("the server closed the connection")
        return int(status_line.split()[1]), await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _load(url: str, texts, expected, concurrency: int, requests: int, max_seconds: float):
    latencies: list[float] = []
    counts = {"sent": 0, "errors": 0, "mismatches": 0}
    deadline = time.perf_counter() + max_seconds
    bodies = [json.dumps([{"src": t}]).encode() for t in texts]

    async def client() -> None:
        connection = Connection(url)
        while counts["sent"] < requests and time.perf_counter() < deadline:
            i = counts["sent"] % len(texts)
            counts["sent"] += 1
            start = time.perf_counter()
            try:
                status, body = await connection.post("/translate", bodies[i])
                ok = status == 200
                if ok and json.loads(body)[0]["tgt"] != expected[i]:
                    counts["mismatches"] += 1
            except (OSError, ValueError, KeyError, IndexError, asyncio.IncompleteReadError):
                ok = False
                connection.close()
                connection = Connection(url)
            counts["errors"] += not ok
            latencies.append(time.perf_counter() - start)
        connection.close()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies, counts, time.perf_counter() - start


def run_level(url, texts, expected, concurrency, requests, max_seconds) -> LevelResult:
    """One bounded load at ``concurrency`` clients."""
    latencies, counts, seconds = asyncio.run(
        _load(url, texts, expected, concurrency, requests, max_seconds)
    )
    ordered = sorted(latencies)
    return LevelResult(
        concurrency=concurrency,
        requests=len(latencies),
        seconds=seconds,
        requests_per_s=len(latencies) / seconds,
        p50_ms=1000 * statistics.median(ordered),
        p99_ms=1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        errors=counts["errors"],
        mismatches=counts["mismatches"],
    )


def run_serve_benchmark(
    run_dir: str | Path,
    concurrency: Sequence[int] = (1, 16, 64, 256),
    requests: int = 5000,
    max_seconds: float = 60.0,
    max_batch_size: int = 64,
    max_wait_ms: float = 5.0,
    num_inputs: int = 1000,
    litert_dir: str | None = None,
) -> dict[str, Any]:
    """Loads the server with batching (``max_batch_size``) and without (1); with
    ``litert_dir``, the server decodes with that LiteRT export of the run.

    Returns:
        A JSON-ready dict: per mode and concurrency, :class:`LevelResult`; the throughput
        ratio of batching per concurrency; totals of requests, errors and mismatches.
    """
    run_dir = Path(run_dir)
    texts = benchmark_inputs(run_dir, num_inputs)
    expected = Translator.from_run_dir(run_dir).translate(texts)
    report: dict[str, Any] = {"run_dir": str(run_dir), "inputs": len(texts), "modes": {},
                              "litert_dir": litert_dir}  # fmt: skip
    for mode, size in (("batched", max_batch_size), ("one_at_a_time", 1)):
        server, url = start_server(run_dir, size, max_wait_ms, litert_dir)
        try:
            levels = {}
            for c in concurrency:
                log.info("%s (max_batch_size=%d): concurrency %d", mode, size, c)
                levels[str(c)] = asdict(run_level(url, texts, expected, c, requests, max_seconds))
                log.info("  %s", levels[str(c)])
        finally:
            server.terminate()
            server.wait(timeout=60)
        report["modes"][mode] = {"max_batch_size": size, "max_wait_ms": max_wait_ms,
                                 "levels": levels}  # fmt: skip
    on, off = report["modes"]["batched"]["levels"], report["modes"]["one_at_a_time"]["levels"]
    report["batching_speedup"] = {c: on[c]["requests_per_s"] / off[c]["requests_per_s"] for c in on}
    every = [*on.values(), *off.values()]
    report["totals"] = {k: sum(level[k] for level in every)
                        for k in ("requests", "errors", "mismatches")}  # fmt: skip
    return report
