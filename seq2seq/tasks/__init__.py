"""The Hydra-facing tasks behind the console commands, one module each.

Each task parses its ``DictConfig`` once into a typed settings record (checking every value
before any work is done) and then calls plain library code: :mod:`seq2seq.training`,
:class:`seq2seq.translation.Translator`, :mod:`seq2seq.evaluation`, :mod:`seq2seq.export`,
:mod:`seq2seq.inspection`. The library never imports this package, so everything a task does
can also be done from a notebook without Hydra.
"""
