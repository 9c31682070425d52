"""Train a seq2seq model: python scripts/train.py [data=anki data.path=...] [model.units=...].

The same as the installed command `s2s-train` (seq2seq/commands.py).
"""

from seq2seq.commands import train

if __name__ == "__main__":
    train()
