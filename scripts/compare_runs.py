"""Compare finished runs: python scripts/compare_runs.py <run_dir> [<run_dir> ...].

Prints a Markdown table (test chrF, BLEU, exact match, epochs, minutes, pairs/s).
"""

import sys

from seq2seq.errors import Seq2SeqError

if __name__ == "__main__":
    from seq2seq.compare import main

    try:
        sys.exit(main(sys.argv[1:]))
    except Seq2SeqError as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(2)
