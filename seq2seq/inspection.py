"""Seeing inside a trained model: what each recurrent layer returns for one input.

For every recurrent layer (encoder first, then decoder over its own greedy output) the
inspector shows the shapes of the ``return_sequences`` output and the ``return_state``
states, and checks where the sequence's last output equals the final ``h``:

* for a forward layer, at the last *real* step; at trailing PAD steps (as in a batch with a
  longer sentence) the state is carried through the masked steps, and what the layer outputs
  there is reported (Keras 3 repeats the last real output, ``zero_output_for_mask=False``;
  Keras 2 wrote zeros when returning sequences);
* for a bidirectional layer, the forward half at the last real step, but the backward half
  at the *first* step (the backward pass ends there).

The ``s2s-inspect`` command (:mod:`seq2seq.tasks.inspect`) also draws the state trajectories
and (with attention) the alignment matrix.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import keras
import numpy as np

from seq2seq.errors import Seq2SeqError
from seq2seq.models.base import AttentionMap, CapabilityError
from seq2seq.translation import Translator
from seq2seq.vocab import PAD_ID, START_ID

log = logging.getLogger(__name__)

#: PAD steps appended to the encoder's input, as a batch with a longer sentence would.
TRAILING_PAD = 3


@dataclass
class LayerTrace:
    """One recurrent layer's outputs for one input.

    Attributes:
        name: the layer's name.
        kind: e.g. ``LSTM`` or ``Bidirectional(GRU)``.
        sequence: the ``return_sequences`` output ``[time, width]``.
        states: the ``return_state`` states, by name (``h``, ``c``, ``h_backward`` ...).
        real_steps: how many leading steps are real characters (the rest are PAD).
        checks: human-readable findings about the last output and the final ``h``.
    """

    name: str
    kind: str
    sequence: np.ndarray
    states: dict[str, np.ndarray]
    real_steps: int
    checks: list[str]


def _probe(layer: keras.layers.Layer) -> keras.layers.Layer:
    """A copy of ``layer`` that returns sequences and states, with the same weights."""
    config = layer.get_config()
    if isinstance(layer, keras.layers.Bidirectional):
        config["layer"]["config"].update(return_sequences=True, return_state=True)
        if "backward_layer" in config:
            config["backward_layer"]["config"].update(return_sequences=True, return_state=True)
    else:
        config.update(return_sequences=True, return_state=True)
    probe = type(layer).from_config(config)
    return probe


def _state_names(layer: keras.layers.Layer) -> list[str]:
    inner = layer.forward_layer if isinstance(layer, keras.layers.Bidirectional) else layer
    names = ["h", "c"] if isinstance(inner, keras.layers.LSTM) else ["h"]
    if isinstance(layer, keras.layers.Bidirectional):
        return [f"{n}_forward" for n in names] + [f"{n}_backward" for n in names]
    return names


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.allclose(a, b, atol=1e-6))


def _masked_output(trace: LayerTrace) -> str:
    """What the layer output at the trailing PAD (masked) steps."""
    tail, last = trace.sequence[trace.real_steps :], trace.sequence[trace.real_steps - 1]
    if not tail.any():
        return "zeros"
    if all(_same(row, last) for row in tail):
        return "the last real step's output again"
    return "other values"


def _checks(trace: LayerTrace, bidirectional: bool) -> list[str]:
    seq, last, h = trace.sequence, trace.real_steps - 1, trace.states
    padded = len(seq) > trace.real_steps
    if not bidirectional:
        found = [f"output at the last real step ({last + 1}) == final h: {_yes(seq[last], h['h'])}"]
        if padded:
            found.append(
                f"output at the last step ({len(seq)}, PAD, masked) == final h:"
                f" {_yes(seq[-1], h['h'])} (masked steps output {_masked_output(trace)};"
                " the state carries over them)"
            )
        return found
    half = seq.shape[1] // 2
    return [
        f"forward half at the last real step ({last + 1}) == final h_forward:"
        f" {_yes(seq[last, :half], h['h_forward'])}",
        f"backward half at the last real step == final h_backward:"
        f" {_yes(seq[last, half:], h['h_backward'])} (the backward pass ends at step 1)",
        f"backward half at step 1 == final h_backward: {_yes(seq[0, half:], h['h_backward'])}",
    ]


def _yes(a: np.ndarray, b: np.ndarray) -> str:
    return "yes" if _same(a, b) else "no"


def trace_layer(layer, x, mask, real_steps: int, initial_state=None) -> tuple[LayerTrace, list]:
    """Runs a probe copy of ``layer`` on ``x``; returns its trace and its final states (a
    bidirectional layer's halves concatenated, as the model passes them on)."""
    probe = _probe(layer)
    probe(x, mask=mask, initial_state=initial_state, training=False)  # creates the weights
    probe.set_weights(layer.get_weights())
    sequence, *states = probe(x, mask=mask, initial_state=initial_state, training=False)
    bidirectional = isinstance(layer, keras.layers.Bidirectional)
    kind = type(layer).__name__
    if bidirectional:
        kind = f"Bidirectional({type(layer.forward_layer).__name__})"
    named = {n: np.asarray(s)[0] for n, s in zip(_state_names(layer), states, strict=True)}
    trace = LayerTrace(layer.name, kind, np.asarray(sequence)[0], named, real_steps, [])
    trace.checks = _checks(trace, bidirectional)
    if bidirectional:
        half = len(states) // 2
        pairs = zip(states[:half], states[half:], strict=True)
        states = [np.concatenate([f, b], -1) for f, b in pairs]
    return trace, [np.asarray(s) for s in states]


@dataclass
class Inspection:
    """Everything the inspector found for one input."""

    source: str
    output: str
    encoder: list[LayerTrace]
    decoder: list[LayerTrace]
    alignment: np.ndarray | None
    source_tokens: list[str]
    output_tokens: list[str]
    unit: str = "characters"
    attention: list[AttentionMap] = field(default_factory=list)


def inspect_input(translator: Translator, text: str) -> Inspection:
    """Traces every recurrent layer of ``translator``'s model on ``text``: the encoder on the
    source (plus ``TRAILING_PAD`` PAD steps), the decoder on START + its greedy output."""
    ids = translator.encode_inputs([text])[0]
    if not ids:
        raise Seq2SeqError('input is empty: give input="some text"')
    output = translator.translate([text])[0]
    try:
        stack = translator.model.recurrent_stack()
    except CapabilityError as no_stack:
        return inspect_attention(translator, ids, output, no_stack)
    source = np.asarray([ids + [PAD_ID] * TRAILING_PAD], np.int32)
    x, mask = stack.source_embedding(source), source != PAD_ID
    encoder, finals = [], []
    for layer in stack.encoder:
        trace, states = trace_layer(layer, x, mask, len(ids))
        encoder.append(trace)
        finals.append(states)
        x = trace.sequence[None]
    target_ids = translator.target_vocab.encode(output)
    target_in = np.asarray([[START_ID, *target_ids]], np.int32)
    y = stack.target_embedding(target_in)
    decoder = []
    for layer, start in zip(stack.decoder, stack.starts, strict=True):
        initial = finals[start] if start is not None else None
        trace, _ = trace_layer(layer, y, target_in != PAD_ID, target_in.shape[1], initial)
        decoder.append(trace)
        y = trace.sequence[None]
    weights = translator.model.alignments(source[:, : len(ids)], target_in)
    source_text = translator.source_vocab.decode(ids)
    alignment = None if weights is None else np.asarray(weights)[0]
    tokens = translator.source_vocab.tokens(ids), translator.target_vocab.tokens(target_ids)
    return Inspection(source_text, output, encoder, decoder, alignment, *tokens,
                      unit=translator.source_vocab.unit)  # fmt: skip


def inspect_attention(
    translator: Translator, ids: list[int], output: str, no_stack: CapabilityError
) -> Inspection:
    """A model without recurrent layers (the Transformer): every attention layer's weights
    instead of layer traces (``no_stack`` is raised when it has neither)."""
    target_ids = translator.target_vocab.encode(output)
    target_in = np.asarray([[START_ID, *target_ids]], np.int32)
    try:
        maps = translator.model.attention_maps(np.asarray([ids], np.int32), target_in)
    except CapabilityError:
        raise no_stack from None
    weights = translator.model.alignments(np.asarray([ids], np.int32), target_in)
    tokens = translator.source_vocab.tokens(ids), translator.target_vocab.tokens(target_ids)
    return Inspection(translator.source_vocab.decode(ids), output, [], [],
                      None if weights is None else np.asarray(weights)[0], *tokens,
                      unit=translator.source_vocab.unit, attention=maps)  # fmt: skip


def describe(found: Inspection) -> str:
    """The inspection as text: one block per layer."""
    lines = [
        f"input: {found.source!r} ({len(found.source_tokens)} {found.unit}; the encoder also reads"
        f" {TRAILING_PAD} PAD steps, as in a batch with a longer sentence)",
        f"output: {found.output!r} (greedy; the decoder reads START + this output)",
    ]
    for entry in found.attention:
        lines += [
            f"{entry.name}: weights {entry.weights.shape} ({entry.queries} x {entry.keys},"
            " heads averaged; each row sums to 1)",
            f"  strongest key per query: {_strongest(found, entry)}",
        ]
    for side, traces in (("encoder", found.encoder), ("decoder", found.decoder)):
        for trace in traces:
            shapes = ", ".join(f"{n} {(1, *v.shape)}" for n, v in trace.states.items())
            lines += [
                f"{side} layer {trace.name} ({trace.kind})",
                f"  return_sequences output: {(1, *trace.sequence.shape)}",
                f"  return_state states: {shapes}",
                *(f"  {check}" for check in trace.checks),
            ]
    return "\n".join(lines) + "\n"


def _strongest(found: Inspection, entry: AttentionMap) -> str:
    """``query->key`` tokens of each row's largest weight."""
    tokens = {"source": found.source_tokens, "target": ["<s>", *found.output_tokens]}
    rows, keys = tokens[entry.queries], tokens[entry.keys]
    pairs = [f"{rows[i]!r}->{keys[j]!r}" if i < len(rows) and j < len(keys) else "?"
             for i, j in enumerate(np.argmax(entry.weights, axis=-1))]  # fmt: skip
    return " ".join(pairs)
