"""seq2seq: character-level LSTM encoder-decoder models with Keras 3, Hydra and TensorBoard."""

from seq2seq.errors import Seq2SeqError

__version__ = "0.1.0"

__all__ = ["Seq2SeqError", "__version__"]
