"""Average a run's checkpoints: python scripts/average.py run_dir=<run> last=3.

The same as the installed command `s2s-average` (seq2seq/tasks/average.py).
"""

from seq2seq.commands import average

if __name__ == "__main__":
    average()
