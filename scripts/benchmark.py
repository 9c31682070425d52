"""Benchmarks, each printing one JSON object on stdout (progress on stderr):

python scripts/benchmark.py decode run_dir=<run> [num_sentences=N]    (seq2seq/benchmark.py)
python scripts/benchmark.py train data_path=<pairs file> [num_samples=N] [rounds=R]
                                                                (seq2seq/benchmark_train.py)
python scripts/benchmark.py time_to_quality data_path=<pairs file> [batch_size=N] [bucket_by=...]
                                                                (seq2seq/benchmark_train.py)
python scripts/benchmark.py memory data_path=<pairs file> [lines=500000,5000000] [steps=200]
                                                                (seq2seq/benchmark_memory.py)
"""

import logging
import sys

from seq2seq.cli import quiet_tensorflow
from seq2seq.errors import Seq2SeqError

quiet_tensorflow()

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] %(message)s", stream=sys.stderr)
    from seq2seq.benchmark import main

    try:
        sys.exit(main(sys.argv[1:]))
    except Seq2SeqError as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(2)
