"""Benchmarks, each printing one JSON object on stdout (progress on stderr):

python scripts/benchmark.py decode run_dir=<run> [num_sentences=N]
python scripts/benchmark.py train data_path=<pairs file> [num_samples=N] [rounds=R]
python scripts/benchmark.py time_to_quality data_path=<pairs file> [batch_size=N] [bucket_by=...]
python scripts/benchmark.py memory data_path=<pairs file> [lines=500000,5000000] [steps=200]

The same as the installed command `s2s-benchmark` (seq2seq/bench/).
"""

from seq2seq.commands import benchmark

if __name__ == "__main__":
    benchmark()
