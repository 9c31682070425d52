"""Export a run as a string-in/string-out SavedModel.

Usage: python scripts/export.py run_dir=outputs/train/<run> export_dir=exported/dates

The same as the installed command `s2s-export` (seq2seq/commands.py).
"""

from seq2seq.commands import export

if __name__ == "__main__":
    export()
