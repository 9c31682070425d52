"""Translate with a trained run.

Usage: python scripts/translate.py run_dir=outputs/train/<run> inputs='["Nov 28, 2026"]'

The same as the installed command `s2s-translate` (seq2seq/commands.py).
"""

from seq2seq.commands import translate

if __name__ == "__main__":
    translate()
