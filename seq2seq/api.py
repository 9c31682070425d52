"""The service's JSON API: what a ``POST /translate`` body may hold (checked, with the
status and one line for what is wrong) and what each answer entry holds. The per-input
decoding keys come from the registered rules' own records."""

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from seq2seq.errors import Seq2SeqError
from seq2seq.options.decoding import per_input_keys
from seq2seq.settings import DecodingSettings, optional_seed
from seq2seq.translation import Candidate, Translator


def decoding_keys() -> tuple[str, ...]:
    """The per-input decoding keys a request may set (as ``decoding.*`` on the command
    line): the rule's name, then what the registered rules' own records declare."""
    return ("decoding", *per_input_keys())


@dataclass(frozen=True)
class Limits:
    """What one request may hold; beyond it, a 4xx answer that names the limit.

    Attributes:
        max_body_bytes: the request body.
        max_inputs: inputs per request.
        max_chars: characters per input.
        body_seconds: the time a client has to send its body (a client trickling it is
            answered 408 and let go, never holding the service or its shutdown open).
    """

    max_body_bytes: int = 1_000_000
    max_inputs: int = 256
    max_chars: int = 1_000
    body_seconds: float = 30.0


class RequestError(Exception):
    """A bad request: the HTTP status and what is wrong."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def parse_request(body: bytes, limits: Limits, defaults: dict[str, Any]) -> list[dict]:
    """The inputs of a ``POST /translate`` body (``[{"src": "..."}, ...]``), checked.

    Raises:
        RequestError: 413 for a body over the limit, 400 for bytes that are not UTF-8 JSON,
            422 for the wrong shape, a limit passed or a bad decoding setting.
    """
    if len(body) > limits.max_body_bytes:
        raise RequestError(413, f"the body is over max_body_bytes={limits.max_body_bytes}")
    try:
        items = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RequestError(400, f"the body is not UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise RequestError(400, f"the body is not JSON: {exc.msg} at {exc.pos}") from None
    except RecursionError:
        raise RequestError(400, "the body is JSON nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise RequestError(400, f"the body is not usable JSON: {str(exc)[:120]}") from None
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not items:
        raise RequestError(422, 'expected a list of inputs: [{"src": "..."}, ...]')
    if len(items) > limits.max_inputs:
        raise RequestError(422, f"{len(items)} inputs is over max_inputs={limits.max_inputs}")
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("src"), str):
            raise RequestError(422, f'input {i}: expected {{"src": "<text>"}}, got {item!r:.80}')
        if len(item["src"]) > limits.max_chars:
            raise RequestError(422, f"input {i} is over max_chars={limits.max_chars}")
        unknown = sorted(set(item) - {"src", "alignment", "prefix", *decoding_keys()})
        if unknown:
            raise RequestError(422, f"input {i}: unknown key {unknown[0]!r}")
        _check_values(item, i)
    return items


def _check_values(item: dict, index: int) -> None:
    """The shapes JSON allows but an input may not have: text that is not Unicode (a lone
    surrogate escape such as ``"\\ud800"``), a setting that is not one plain value, an
    ``alignment`` that is not true or false. (The settings' values are checked by their
    records, :func:`decoding_of`.)"""
    try:
        item["src"].encode("utf-8")
    except UnicodeEncodeError as exc:
        raise RequestError(
            422, f"input {index}: src is not Unicode text (a lone surrogate at {exc.start})"
        ) from None
    for key in decoding_keys():
        value = item.get(key)
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise RequestError(
                422, f"input {index}: {key} must be one value, got {type(value).__name__}"
            )
    if not isinstance(item.get("decoding", ""), str):
        raise RequestError(422, f"input {index}: decoding must be a rule's name")
    if not isinstance(item.get("alignment", False), bool):
        raise RequestError(422, f"input {index}: alignment must be true or false")
    if not isinstance(item.get("prefix", ""), str):
        raise RequestError(422, f"input {index}: prefix must be text (the translation's start)")


def decoding_of(item: dict, defaults: dict[str, Any], index: int) -> DecodingSettings:
    """The decoding settings of one input: the server's defaults, then the input's own."""
    values = {**defaults, **{k: v for k, v in item.items() if k in decoding_keys()}}
    name = values.pop("decoding", "greedy")
    seed = values.pop("seed", None)
    try:
        return DecodingSettings.from_config({"name": name, **values}, optional_seed(seed))
    except Seq2SeqError as exc:
        raise RequestError(422, f"input {index}: {exc}") from None


def answers(translator: Translator, items: list[dict], results: list[list[Candidate]]) -> list:
    """The response entries: per input, the best translation and the n-best with scores, and
    with ``"alignment": true`` on an attention model, the attention matrix of the best
    (computed for all such inputs at once)."""
    found = [
        {
            "src": item["src"],
            "tgt": cands[0].text,
            "score": cands[0].score,
            "n_best": [{"tgt": c.text, "score": c.score} for c in cands],
        }
        for item, cands in zip(items, results, strict=True)
    ]
    asked = [i for i, item in enumerate(items) if item.get("alignment")]
    if not asked:
        return found
    aligned = translator.aligned([items[i]["src"] for i in asked],
                                 [results[i][0].text for i in asked])  # fmt: skip
    for i, entry in zip(asked, aligned, strict=True):
        found[i]["alignment"] = None if entry is None else {
            "source": entry.source_tokens,
            "target": [*entry.output_tokens, "</s>"],
            "weights": _rounded(entry.weights),
        }  # fmt: skip
    return found


def _rounded(weights: np.ndarray) -> list:
    """Attention weights to 4 decimals, as JSON numbers that say so: rounded in float64
    (rounded float32 values print as 0.0010000000474974513, five times the bytes)."""
    return np.round(np.asarray(weights, np.float64), 4).tolist()
