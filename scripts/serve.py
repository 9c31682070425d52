"""Serve a run over HTTP: python scripts/serve.py run_dir=<run> port=8000.

The same as the installed command `s2s-serve` (seq2seq/tasks/serve.py).
"""

from seq2seq.commands import serve

if __name__ == "__main__":
    serve()
