"""Look inside a trained model: python scripts/inspect.py run_dir=<run> input="'Nov 28, 2026'".

Prints, for each recurrent layer, the shapes of its return_sequences output and return_state
states and where the last output equals the final h; writes states.png (and alignment.png
with attention) to output_dir (default: <run_dir>/inspect) and prints where.
"""

import os
import sys

# This file is named like the standard library's `inspect` module, which Hydra and its
# dependencies import, and Python puts scripts/ first on the import path of every script
# here. So: take scripts/ off the path, and when another script imports this file as
# `inspect`, hand it the standard library's module instead.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

if __name__ != "__main__":
    del sys.modules[__name__]
    import inspect as _standard_inspect  # now found in the standard library

    sys.modules[__name__] = _standard_inspect
    globals().update(_standard_inspect.__dict__)
else:
    from seq2seq.commands import inspect as command  # the same as `s2s-inspect`

    command()
