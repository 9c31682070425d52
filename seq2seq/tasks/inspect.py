"""``s2s-inspect``: what each recurrent layer returns for one input, as text on stdout and
PNGs of the state trajectories (and, with attention, of the alignment matrix); for a
Transformer, every attention layer's weights instead."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig

from seq2seq.destinations import refuse_run_owned_dir
from seq2seq.errors import Seq2SeqError
from seq2seq.inspection import TRAILING_PAD, Inspection, describe, inspect_input
from seq2seq.plots import (
    StatesPanel,
    alignment_figure,
    attention_grid_figure,
    save_png,
    states_figure,
)
from seq2seq.tasks.common import config_values, given_texts, optional_path, required_path
from seq2seq.translation import Translator

USAGE = "s2s-inspect run_dir=<run> \"input='Nov 28, 2026'\""
#: ``output_dir`` when none is given: inside the run directory.
DEFAULT_INSPECT_DIR = "inspect"


@dataclass(frozen=True)
class InspectSettings:
    """The ``inspect`` config, parsed once.

    Attributes:
        run_dir: the trained run.
        input: the one input to trace.
        output_dir: where the PNGs go.
    """

    run_dir: str
    input: str
    output_dir: str

    @classmethod
    def from_config(cls, cfg: DictConfig) -> InspectSettings:
        """Parses and checks a composed ``inspect`` config."""
        values = config_values(cfg)
        run_dir = required_path(values, "run_dir", USAGE)
        text = values.get("input")
        if text is None or isinstance(text, (dict, list)):
            raise Seq2SeqError(f"input is required (one string): {USAGE}")
        given_texts("input", text)  # a number or a bool: refused with the right quoting
        output_dir = optional_path(values, "output_dir")
        return cls(
            run_dir=run_dir,
            input=text,
            output_dir=output_dir or str(Path(run_dir) / DEFAULT_INSPECT_DIR),
        )


def inspect(cfg: DictConfig) -> Inspection:
    """Hydra task: prints the report, writes the PNGs and says where."""
    settings = InspectSettings.from_config(cfg)
    out_dir = refuse_run_owned_dir(settings.output_dir, "output_dir")
    found = inspect_input(Translator.from_run_dir(settings.run_dir), settings.input)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        written = [_write_states(found, out_dir / "states.png")] if found.encoder else []
        if found.attention:
            written.append(_write_attention(found, out_dir / "attention.png"))
        if found.alignment is not None:
            fig = alignment_figure(found.source_tokens, found.output_tokens, found.alignment)
            written.append(save_png(fig, out_dir / "alignment.png"))
    except OSError as exc:
        raise Seq2SeqError(f"cannot write to {out_dir}: {exc.strerror}") from None
    text = describe(found) + "".join(f"wrote {path}\n" for path in written)
    sys.stdout.write(text)
    return found


def _write_states(found: Inspection, path: Path) -> Path:
    """``states.png``: each recurrent layer's output and final states as heat maps."""
    source = [*found.source_tokens, *["PAD"] * TRAILING_PAD]
    target = ["<s>", *found.output_tokens]
    panels = [
        StatesPanel(f"{side} {t.name} ({t.kind})", t.sequence, labels, t.states, t.real_steps)
        for side, traces, labels in (("encoder", found.encoder, source),
                                     ("decoder", found.decoder, target))
        for t in traces
    ]  # fmt: skip
    return save_png(states_figure(panels), path)


def _write_attention(found: Inspection, path: Path) -> Path:
    """``attention.png``: every attention layer's weights (a model without recurrent layers)."""
    tokens = {"source": found.source_tokens, "target": ["<s>", *found.output_tokens]}
    panels = [(m.name, m.weights, tokens[m.queries], tokens[m.keys]) for m in found.attention]
    return save_png(attention_grid_figure(panels), path)
