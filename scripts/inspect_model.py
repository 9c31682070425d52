"""Look inside a trained model: python scripts/inspect_model.py run_dir=<run> input=...

The same as the installed command `s2s-inspect` (seq2seq/tasks/inspect.py). (This file is not
called inspect.py: Python puts scripts/ first on the import path, and a file of that name
would hide the standard library's `inspect` module from Hydra.)
"""

from seq2seq.commands import inspect

if __name__ == "__main__":
    inspect()
