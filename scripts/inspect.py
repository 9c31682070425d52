"""Look inside a trained model: python scripts/inspect.py run_dir=<run> input="Nov 28, 2026".

Prints, for each recurrent layer, the shapes of its return_sequences output and return_state
states and where the last output equals the final h; writes states.png (and alignment.png
with attention) to output_dir (default: <run_dir>/inspect) and prints where.
"""

import os
import sys

# This file is named like the standard library's `inspect` module, which Hydra and its
# dependencies import: take the script's own directory off the import path first.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from seq2seq.cli import quiet_tensorflow, register_configs, run_task  # noqa: E402

quiet_tensorflow()
register_configs()


@hydra.main(version_base="1.3", config_path="../configs", config_name="inspect")
def main(cfg: DictConfig) -> None:
    """Traces every recurrent layer on one input."""
    from seq2seq.inspection import inspect

    run_task(inspect, cfg)


if __name__ == "__main__":
    main()
