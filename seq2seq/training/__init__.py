"""Training, one module per phase around the run directory; :func:`train` tells the story
(:mod:`seq2seq.training.phases`)."""

from seq2seq.training.claim import leave_log_files_in, log_files_in
from seq2seq.training.loop import Fitting, TrainingClock, fit, training_callbacks
from seq2seq.training.model import compile_model, copy_weights, dtype_policy, new_model
from seq2seq.training.phases import train
from seq2seq.training.report import metric_keys
from seq2seq.training.vocabularies import Datasets, Vocabularies

__all__ = [
    "Datasets",
    "Fitting",
    "TrainingClock",
    "Vocabularies",
    "compile_model",
    "copy_weights",
    "dtype_policy",
    "fit",
    "leave_log_files_in",
    "log_files_in",
    "metric_keys",
    "new_model",
    "train",
    "training_callbacks",
]
