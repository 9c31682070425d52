"""Score a run: python scripts/evaluate.py run_dir=<run> output_dir=<dir> [pairs_file=FILE].

Writes metrics.json (sacrebleu chrF and BLEU, exact match, CER) and translations.tsv to
output_dir and prints the metrics.

The same as the installed command `s2s-evaluate` (seq2seq/commands.py).
"""

from seq2seq.commands import evaluate

if __name__ == "__main__":
    evaluate()
