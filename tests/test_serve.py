"""s2s-serve: the JSON API, its limits, dynamic batching, graceful shutdown and the page in a
real headless browser (Debian's chromium), all on 127.0.0.1 with bounded traffic."""

import contextlib
import functools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seq2seq.api import Limits
from seq2seq.models import build_model
from seq2seq.serving import create_app
from seq2seq.translation import Candidate, Translator
from seq2seq.vocab import Vocabulary
from tests.conftest import ROOT, needs_program

INPUTS = ["Nov 28, 2026", "le 1er mai 1999", "04.07.1950"]


@pytest.fixture(scope="module")
def client(trained_run):
    translator = Translator.from_run_dir(trained_run)
    limits = Limits(max_body_bytes=2000, max_inputs=4, max_chars=50)
    with TestClient(create_app(translator, {"run_dirs": [str(trained_run)]}, limits)) as c:
        yield c


@pytest.fixture(scope="module")
def roomy_client(trained_run):
    """The service with limits large enough for the malformed bodies to be read."""
    translator = Translator.from_run_dir(trained_run)
    with TestClient(create_app(translator, {}, Limits(max_body_bytes=1_000_000))) as c:
        yield c


def test_translate_answers_what_the_translator_gives(client, trained_run):
    translator = Translator.from_run_dir(trained_run)
    got = client.post("/translate", json=[{"src": s} for s in INPUTS])
    assert got.status_code == 200
    assert [a["tgt"] for a in got.json()] == translator.translate(INPUTS)
    beam = client.post("/translate", json=[{"src": INPUTS[0], "decoding": "beam", "n_best": 3}])
    expected = translator.candidates(INPUTS[:1], decoding="beam", n_best=3)[0]
    assert [c["tgt"] for c in beam.json()[0]["n_best"]] == [c.text for c in expected]
    assert [c["score"] for c in beam.json()[0]["n_best"]] == pytest.approx(
        [c.score for c in expected], abs=1e-5
    )
    sampled = [{"src": INPUTS[1], "decoding": "sample", "seed": 4, "temperature": 0.8}] * 2
    first, second = (a["tgt"] for a in client.post("/translate", json=sampled).json())
    alone = translator.translate(INPUTS[1:2], decoding="sample", seed=4, temperature=0.8)
    assert first == second == alone[0]  # the same seed, the same draw as s2s-translate


def test_health_and_info(client):
    assert client.get("/health").json() == {"ready": True}
    info = client.get("/info").json()
    assert info["limits"] == {"max_body_bytes": 2000, "max_inputs": 4, "max_chars": 50,
                              "body_seconds": 30.0}  # fmt: skip
    assert info["decoding_defaults"] == {}
    assert client.get("/").text.startswith("<!doctype html>")
    assert client.get("/openapi.json").json()["info"]["title"]  # the API, described locally
    assert client.get("/docs").status_code == 404  # no Swagger page loading scripts from a CDN


@pytest.mark.parametrize(
    "body, status, message",
    [
        (b"x" * 3000, 413, "max_body_bytes=2000"),
        (b"not json", 400, "not JSON"),
        (b"\xff\xfe[]", 400, "not UTF-8"),
        (b"[]", 422, "expected a list of inputs"),
        (b'{"src": 3}', 422, "expected {\"src\""),
        (json.dumps([{"src": "a"}] * 5).encode(), 422, "max_inputs=4"),
        (json.dumps([{"src": "a" * 51}]).encode(), 422, "max_chars=50"),
        (json.dumps([{"src": "a", "beam": 3}]).encode(), 422, "unknown key 'beam'"),
        (json.dumps([{"src": "a", "decoding": "beam", "beam_size": 2**40}]).encode(), 422,
         "beam_size must be at most"),
        (json.dumps([{"src": "a", "n_best": 2}]).encode(), 422, "n_best must be at most 1"),
        (json.dumps([{"src": "a", "decoding": "nope"}]).encode(), 422, "nope"),
        (json.dumps([{"src": "a", "seed": -3, "decoding": "sample"}]).encode(), 422, "seed"),
    ],
)  # fmt: skip
def test_bad_requests_are_4xx_that_say_why(client, body, status, message):
    got = client.post("/translate", content=body, headers={"content-type": "application/json"})
    assert got.status_code == status and message in got.json()["error"]


def test_a_chunked_body_is_refused_once_past_the_limit_not_once_read(client):
    def chunks():  # no content-length: httpx sends it chunked
        for _ in range(10_000):
            yield b"[" + b" " * 998 + b"]"

    got = client.post("/translate", content=chunks(), headers={"content-type": "application/json"})
    assert got.status_code == 413 and "max_body_bytes=2000" in got.json()["error"]


def test_an_attention_model_answers_its_alignment():
    chars = list("abc123-")
    model = build_model("lstm", len(chars) + 4, len(chars) + 4, units=8, embedding_dim=4,
                        attention="luong")  # fmt: skip
    translator = Translator(model, Vocabulary(chars), Vocabulary(chars), 6)
    with TestClient(create_app(translator, {"run_dirs": ["untrained"]})) as client:
        out = client.post("/translate", json=[{"src": "abc", "alignment": True}]).json()[0]
    weights = np.asarray(out["alignment"]["weights"])
    assert weights.shape == (len(out["tgt"]) + 1, 3)
    assert np.allclose(weights.sum(axis=1), 1.0, atol=1e-3)
    assert out["alignment"]["source"] == ["a", "b", "c"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(trained_run):
    """A real ``s2s-serve`` (scripts/serve.py) on a free 127.0.0.1 port."""
    proc, url = _start_server(trained_run, "max_wait_ms=200", "max_batch_size=64")
    yield url, proc
    if proc.poll() is None:
        proc.kill()


def _start_server(run, *settings: str) -> tuple[subprocess.Popen, str]:
    """``scripts/serve.py`` on a free 127.0.0.1 port, once its /health answers 200."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "serve.py"), f"run_dir={run}",
         f"port={port}", *settings],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail(proc.communicate()[1][-2000:])
    return proc, url


@pytest.mark.e2e
def test_concurrent_requests_are_decoded_together(server, trained_run):
    url, _ = server
    before = httpx.get(f"{url}/info").json()["stats"]
    texts = [f"{d} mai 1999" for d in range(1, 17)]
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(
            lambda t: httpx.post(f"{url}/translate", json=[{"src": t}], timeout=60).json(), texts
        ))  # fmt: skip
    assert [a[0]["tgt"] for a in answers] == Translator.from_run_dir(trained_run).translate(texts)
    after = httpx.get(f"{url}/info").json()["stats"]
    assert after["inputs_decoded"] - before["inputs_decoded"] == 16
    # Fewer calls than requests: some were decoded together. (How many share a call depends
    # on when they arrive: alone on the machine 16 took 2-7 calls, beside a training 10.)
    assert after["decode_calls"] - before["decode_calls"] < 16


@pytest.mark.e2e
def test_the_page_translates_in_a_real_browser(server, trained_run, tmp_path):
    url, _ = server
    chromium = needs_program("chromium", "apt-get install chromium (.ci/run installs it)")
    dom = subprocess.run(
        [chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=15000", "--dump-dom",
         f"{url}/?src=Nov%2028%2C%202026&decoding=beam&n_best=2"],
        capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
    expected = Translator.from_run_dir(trained_run).candidates(
        ["Nov 28, 2026"], decoding="beam", n_best=2
    )[0]
    assert f'<p id="tgt" style="font-size:1.3rem">{expected[0].text}</p>' in dom
    assert expected[1].text in dom.split('id="nbest"')[1]


@pytest.mark.e2e
def test_sigterm_finishes_what_was_accepted_and_exits_0(server):
    """SIGTERM once the server has taken a slow request (its inputs are in the batcher's
    queue, as ``/info`` counts them): the request is answered, then the process exits 0."""
    url, proc = server
    before = httpx.get(f"{url}/info").json()["stats"]["inputs_accepted"]
    slow = [{"src": f"{d} mai 1999", "decoding": "beam", "beam_size": 32} for d in range(1, 29)]
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(httpx.post, f"{url}/translate", json=slow, timeout=120)
        deadline = time.monotonic() + 60
        while httpx.get(f"{url}/info").json()["stats"]["inputs_accepted"] < before + len(slow):
            assert time.monotonic() < deadline, "the server did not take the request"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGTERM)
        answer = pending.result()
        assert answer.status_code == 200 and len(answer.json()) == len(slow)
    assert proc.wait(timeout=60) == 0


@pytest.mark.e2e  # real servers in child processes
def test_the_load_benchmark_checks_every_answer_with_and_without_batching(trained_run):
    from seq2seq.bench.serve import run_serve_benchmark

    report = run_serve_benchmark(trained_run, concurrency=(1, 4), requests=12, num_inputs=5)
    for mode, size in (("batched", 64), ("one_at_a_time", 1)):
        assert report["modes"][mode]["max_batch_size"] == size
        for level in report["modes"][mode]["levels"].values():
            assert level["requests"] == 12 and level["p99_ms"] >= level["p50_ms"] > 0
    assert report["totals"] == {"requests": 48, "errors": 0, "mismatches": 0}
    assert set(report["batching_speedup"]) == {"1", "4"}
    json.dumps(report)


def test_a_whole_number_float_is_that_whole_number_everywhere(client, trained_run, cli):
    """``beam_size: 2.0`` is ``beam_size: 2`` over HTTP and on the command line, and two such
    requests decoded together both get the right answer."""
    translator = Translator.from_run_dir(trained_run)
    expected = translator.candidates(INPUTS[:2], decoding="beam", beam_size=2, n_best=2)
    body = [{"src": s, "decoding": "beam", "beam_size": size, "n_best": 2.0}
            for s, size in zip(INPUTS[:2], (2.0, 2), strict=True)]  # fmt: skip
    got = client.post("/translate", json=body)
    assert got.status_code == 200, got.text
    assert [[c["tgt"] for c in a["n_best"]] for a in got.json()] == [
        [c.text for c in cands] for cands in expected
    ]
    args = [f"run_dir={trained_run}", "decoding=beam", "inputs=[Nov 28 2026]"]
    whole = cli("translate", *args, "decoding.beam_size=2.0", "decoding.max_length=12.0")
    assert whole.returncode == 0, whole.stderr[-2000:]
    assert (
        whole.stdout
        == cli("translate", *args, "decoding.beam_size=2", "decoding.max_length=12").stdout
    )
    half = cli("translate", *args, "decoding.beam_size=2.5")
    assert half.returncode == 2 and "beam_size must be a positive integer, got 2.5" in half.stderr


def test_one_request_failing_in_a_batch_never_fails_another():
    """A group that fails is decoded input by input: only the failing input's request gets
    the error."""
    from seq2seq.serving import Batcher
    from seq2seq.settings import DecodingSettings

    class Fragile:
        def candidates(self, texts, batch_size, **options):
            if "bad" in texts:
                raise ValueError("this input breaks the decoder")
            return [[t.upper()] for t in texts]

    batcher = Batcher(Fragile(), max_batch_size=8, max_wait_ms=200)
    greedy = DecodingSettings()
    futures = [batcher.submit(t, greedy) for t in ("a", "bad", "c")]  # queued: one batch
    batcher.start()
    batcher.stop()
    assert futures[0].result() == ["A"] and futures[2].result() == ["C"]
    with pytest.raises(ValueError, match="breaks the decoder"):
        futures[1].result()


_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
_ITEMS = st.fixed_dictionaries(
    {"src": st.text(max_size=12) | _JSON},
    optional={key: _JSON | st.sampled_from(["beam", "greedy", "sample", 2.0, 3, -1, 1e9])
              for key in ("decoding", "beam_size", "n_best", "length_penalty", "temperature",
                          "top_k", "seed", "max_length", "alignment")},
)  # fmt: skip


@functools.cache
def _expected_first(run_dir) -> list[str]:
    """The run's translation of the first input (loaded once, not per example)."""
    return Translator.from_run_dir(run_dir).translate(INPUTS[:1])


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.lists(_ITEMS, max_size=3) | _JSON)
def test_any_json_gets_an_answer_below_500_and_the_service_stays_right(client, trained_run, body):
    expected = _expected_first(trained_run)
    raw = json.dumps(body).encode()
    got = client.post("/translate", content=raw, headers={"content-type": "application/json"})
    assert got.status_code < 500, (raw[:300], got.text[:300])
    if got.status_code >= 400:
        assert got.json()["error"]
    fine = client.post("/translate", json=[{"src": INPUTS[0]}])
    assert fine.status_code == 200 and [a["tgt"] for a in fine.json()] == expected


@pytest.mark.parametrize(
    "body, message",
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'[{"src": "a", "decoding": "beam", "beam_size": ' + b"9" * 5000 + b"}]",
         "not usable JSON"),
        (b'[{"src": "a", "decoding": ["beam"]}]', "decoding must be one value"),
        (b'[{"src": "a", "decoding": {"x": 1}}]', "decoding must be one value"),
        (b'[{"src": "a", "decoding": 3}]', "decoding must be a rule's name"),
        (b'[{"src": "\\ud800"}]', "lone surrogate"),
        (b'[{"src": "a", "alignment": "yes"}]', "alignment must be true or false"),
        (b'[{"src": "a", "decoding": "sample", "temperature": NaN}]', "temperature"),
    ],
    ids=["nested", "huge-integer", "decoding-list", "decoding-object", "decoding-number",
         "lone-surrogate",
         "alignment-string", "nan"],
)  # fmt: skip
def test_the_malformed_requests_that_were_500s_are_4xx(roomy_client, body, message):
    got = roomy_client.post(
        "/translate", content=body, headers={"content-type": "application/json"}
    )
    assert 400 <= got.status_code < 500 and message in got.json()["error"], got.text[:300]


def test_start_up_failures_are_one_line_before_the_model_loads(trained_run, cli):
    """A busy port and a bad default are refused in one line (exit 2), not by uvicorn after
    start-up or as a traceback."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        taken = cli("serve", f"run_dir={trained_run}", f"port={port}")
    assert taken.returncode == 2, taken.stderr[-2000:]
    assert (
        taken.stderr.strip()
        .splitlines()[-1]
        .startswith(f"error: cannot listen on 127.0.0.1:{port}: ")
    )
    for setting, message in (
        ("host=no such host.invalid", "error: cannot listen on no such host.invalid:8000: "),
        ("port=70000", "error: port must be 0-65535"),
        ("allowed_hosts=x", "error: allowed_hosts must be a list of host names"),
    ):
        refused = cli("serve", f"run_dir={trained_run}", setting)
        assert refused.returncode == 2, (setting, refused.stderr[-2000:])
        assert refused.stderr.strip().splitlines()[-1].startswith(message), refused.stderr
    bad = cli("serve", f"run_dir={trained_run}", "decoding.n_best=2")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines()[-1] == (
        "error: decoding.n_best must be at most 1 for decoding=greedy (got 2)"
    )


def test_other_hosts_and_non_json_posts_are_refused(trained_run):
    """A page elsewhere cannot use the service: a Host header naming another host (DNS
    rebinding) is refused, and so is a POST that is not JSON (a form or text/plain, which a
    browser sends without asking)."""
    translator = Translator.from_run_dir(trained_run)
    app = create_app(translator, {}, allowed_hosts=["127.0.0.1", "localhost"])
    with TestClient(app, base_url="http://127.0.0.1:8000") as local:
        assert local.get("/health").status_code == 200
        assert local.post("/translate", json=[{"src": "a"}]).status_code == 200
        plain = local.post("/translate", content=b'[{"src": "a"}]',
                           headers={"content-type": "text/plain"})  # fmt: skip
        assert plain.status_code == 415 and "application/json" in plain.json()["error"]
        elsewhere = local.get("/info", headers={"host": "attacker.example"})
        assert elsewhere.status_code == 400


@pytest.mark.e2e
def test_a_trickling_client_gets_408_and_never_holds_the_shutdown_open(trained_run):
    """Clients that send a body byte by byte are let go after body_seconds (408), and a
    SIGTERM with such clients connected exits within shutdown_seconds."""
    proc, url = _start_server(trained_run, "body_seconds=1", "shutdown_seconds=2")
    port = int(url.rsplit(":", 1)[1])
    try:
        head = (b"POST /translate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
                b"\r\nContent-Length: 1000\r\n\r\n[")  # fmt: skip
        slow = socket.create_connection(("127.0.0.1", port))
        slow.sendall(head)
        slow.settimeout(10)
        assert slow.recv(100).startswith(b"HTTP/1.1 408"), "the trickled body was not cut off"
        others = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
        for other in others:
            other.sendall(head)
        os.kill(proc.pid, signal.SIGTERM)
        started = time.monotonic()
        proc.wait(timeout=30)
        assert time.monotonic() - started < 10
    finally:
        proc.kill()


def test_abandoned_work_is_not_decoded():
    """An input whose request was abandoned (its future cancelled before the batcher took
    it) is skipped; the others are decoded."""
    from seq2seq.serving import Batcher
    from seq2seq.settings import DecodingSettings

    decoded = []

    class Counting:
        def candidates(self, texts, batch_size, **options):
            decoded.extend(texts)
            return [[t] for t in texts]

    batcher = Batcher(Counting(), max_batch_size=8, max_wait_ms=50)
    futures = [batcher.submit(t, DecodingSettings()) for t in ("a", "gone", "c")]
    assert futures[1].cancel()
    batcher.start()
    batcher.stop()
    assert decoded == ["a", "c"] and futures[2].result() == ["c"]


#: A server process for an untrained attention model whose outputs never end early (the
#: special tokens' logits pushed down): every answer is as long as allowed, so its alignment
#: is as large.
_LONG_ANSWER_SERVER = """
import sys, numpy as np, uvicorn
from seq2seq.models import build_model
from seq2seq.serving import create_app
from seq2seq.translation import Translator
from seq2seq.vocab import SPECIAL_TOKENS, Vocabulary
chars = list("abc123-")
model = build_model("lstm", len(chars) + 4, len(chars) + 4, units=8, embedding_dim=4,
                    attention="luong")
output = model.training.get_layer("output")
kernel, bias = output.get_weights()
special = np.arange(len(bias)) < len(SPECIAL_TOKENS)  # PAD, START, END, UNK: never
output.set_weights([kernel, bias - 100.0 * special])
translator = Translator(model, Vocabulary(chars), Vocabulary(chars), 30)
app = create_app(translator, {"run_dirs": ["untrained"]})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error")
"""


@pytest.mark.e2e  # a latency bound of a real server process: measured alone
def test_health_answers_within_a_second_while_the_largest_request_decodes():
    """The largest request the default limits allow (256 inputs of ~985 characters, each
    with its alignment: tens of megabytes of JSON) is decoded, aligned and encoded off the
    event loop: ``/health`` answers within a second all the while."""
    port = _free_port()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    proc = subprocess.Popen([sys.executable, "-c", _LONG_ANSWER_SERVER, str(port)], **quiet)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: _answers(f"{url}/health"), seconds=120)
        big = [{"src": "abc123-"[i % 7 :] + "a1" * 490, "alignment": True} for i in range(256)]
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(httpx.post, f"{url}/translate", json=big, timeout=600)
            slowest = 0.0
            while not pending.done():
                started = time.monotonic()
                assert httpx.get(f"{url}/health", timeout=10).status_code == 200
                slowest = max(slowest, time.monotonic() - started)
                time.sleep(0.05)
            answer = pending.result()
        assert answer.status_code == 200
        rows = [a["alignment"]["weights"] for a in answer.json()]
        assert len(rows) == 256 and min(len(r) for r in rows) >= 30  # never an early END
        assert len(answer.content) > 30 * 10**6  # 256 x 30 x ~985 weights: tens of MB
        assert slowest < 1.0, f"/health took {slowest:.2f} s during the largest request"
    finally:
        proc.kill()
        proc.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.e2e
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_second_signal_stops_at_once(trained_run, sig):
    """While a stop waits for open connections (here for up to a minute), a second signal
    ends the process at once, with the status of a process that signal killed."""
    proc, url = _start_server(trained_run, "body_seconds=60", "shutdown_seconds=60")
    port = int(url.rsplit(":", 1)[1])
    try:
        slow = socket.create_connection(("127.0.0.1", port))
        slow.sendall(b"POST /translate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                     b"application/json\r\nContent-Length: 1000\r\n\r\n[")  # fmt: skip
        time.sleep(0.5)
        os.kill(proc.pid, sig)
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=2)  # the first signal waits for the open request
        os.kill(proc.pid, sig)
        started = time.monotonic()
        assert proc.wait(timeout=10) == 128 + sig
        assert time.monotonic() - started < 5
        assert "stopped at once by a second signal" in proc.stderr.read()
    finally:
        proc.kill()


@contextlib.contextmanager
def _serving_in_a_thread(app):
    """A real uvicorn serving ``app`` on a free 127.0.0.1 port, in a thread of this process."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "the server did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_a_client_that_goes_away_has_its_queued_inputs_skipped():
    """Over real HTTP: a client disconnects while its inputs wait behind a busy batch; they
    are never decoded, and the next client is answered."""
    gate, decoded = threading.Event(), []

    class Gated:
        def candidates(self, texts, batch_size, **options):
            if "hold" in texts:
                gate.wait(30)
            decoded.extend(texts)
            return [[Candidate(t.upper(), 0.0)] for t in texts]

    app = create_app(Gated(), {}, max_wait_ms=0)
    with _serving_in_a_thread(app) as url, ThreadPoolExecutor(1) as pool:
        holding = pool.submit(httpx.post, f"{url}/translate", json=[{"src": "hold"}], timeout=60)
        _wait_for(lambda: "hold" not in decoded and _stats(url)["inputs_accepted"] == 2)
        body = json.dumps([{"src": "gone-1"}, {"src": "gone-2"}]).encode()
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as leaving:
            leaving.sendall(b"POST /translate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                            b"application/json\r\nContent-Length: %d\r\n\r\n%s"
                            % (len(body), body))  # fmt: skip
            _wait_for(lambda: _stats(url)["inputs_accepted"] == 4)
        time.sleep(1.0)  # the route polls for a disconnect every 0.25 s
        gate.set()
        assert holding.result().json()[0]["tgt"] == "HOLD"
        after = httpx.post(f"{url}/translate", json=[{"src": "next"}], timeout=60)
        assert after.json()[0]["tgt"] == "NEXT"
    assert "gone-1" not in decoded and "gone-2" not in decoded and "next" in decoded


def _stats(url: str) -> dict:
    return httpx.get(f"{url}/info", timeout=10).json()["stats"]


def _wait_for(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
