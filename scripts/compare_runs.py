"""Compare finished runs: python scripts/compare_runs.py <run_dir> [<run_dir> ...].

Prints a Markdown table (test chrF, BLEU, exact match, epochs, minutes, pairs/s).
"""

from seq2seq.commands import compare

if __name__ == "__main__":
    compare()  # the same as `s2s-compare`
