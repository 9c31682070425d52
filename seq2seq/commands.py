"""The console commands (``s2s-train``, ``s2s-translate`` ...): Hydra apps whose configs ship
inside the package (``configs/`` is installed as ``seq2seq.configs``, loaded with
``pkg://``), so they run from any directory once the package is installed.

``python scripts/<name>.py`` runs the same apps from a checkout. A user's own config
directory is added with Hydra's ``--config-dir DIR`` (its files are found before the
package's, e.g. ``--config-dir my_configs experiment=mine`` with
``my_configs/experiment/mine.yaml``).
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable
from typing import Any

#: Where every command finds its configs (the top-level ``configs/``, packaged).
CONFIG_PATH = "pkg://seq2seq.configs"


def _hydra_command(config_name: str, task: str) -> Callable[[], Any]:
    """A console entry point running ``task`` (``module:function``) on ``config_name``."""

    def command() -> Any:
        import hydra

        from seq2seq.cli import (
            forget_refused_launch,
            hydra_raises,
            quiet_tensorflow,
            register_configs,
            report_hydra_error,
            run_task,
        )

        register_configs()
        hydra_raises()
        module, function = task.split(":")

        started = []

        @hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name=config_name)
        def app(cfg: Any) -> Any:
            started.append(True)
            quiet_tensorflow()  # only now: --help, --cfg and a refused override never wait for it
            return run_task(lambda c: getattr(importlib.import_module(module), function)(c), cfg)

        try:
            return app()
        except SystemExit as exc:
            if exc.code == 2:  # a refused launch: take back a run directory it created
                forget_refused_launch()
            raise
        except Exception as exc:
            report_hydra_error(exc, task_started=bool(started), config_name=config_name)

    command.__name__ = config_name
    command.__doc__ = f"``s2s-{config_name}``: runs {task} on the ``{config_name}`` config."
    return command


train = _hydra_command("train", "seq2seq.tasks.train:train")
translate = _hydra_command("translate", "seq2seq.tasks.translate:translate")
evaluate = _hydra_command("evaluate", "seq2seq.tasks.evaluate:evaluate")
export = _hydra_command("export", "seq2seq.tasks.export:export")
inspect = _hydra_command("inspect", "seq2seq.tasks.inspect:inspect")
average = _hydra_command("average", "seq2seq.tasks.average:average")
serve = _hydra_command("serve", "seq2seq.tasks.serve:serve")


def _plain_command(module: str, usage: str) -> Callable[[], None]:
    """A console entry point calling ``module.main(argv)``; a user error is one line and
    ``--help`` prints ``usage``."""

    def command() -> None:
        from seq2seq.cli import quiet_tensorflow
        from seq2seq.errors import Seq2SeqError

        logging.basicConfig(level=logging.INFO, format="[%(levelname)s] %(message)s")
        if sys.argv[1:2] in (["-h"], ["--help"]):
            sys.stdout.write(usage)
            sys.exit(0)
        quiet_tensorflow()
        main = importlib.import_module(module).main
        try:
            sys.exit(main(sys.argv[1:]))
        except Seq2SeqError as exc:
            sys.stderr.write(f"error: {exc}\n")
            sys.exit(2)

    return command


BENCHMARK_USAGE = """\
s2s-benchmark: speed and memory benchmarks, each printing one JSON object on stdout.

  s2s-benchmark decode run_dir=RUN [num_sentences=N] [max_length=N]
      decoding: the Keras example's loop against ours, on the same weights and inputs
  s2s-benchmark train data_path=PAIRS [num_samples=N] [rounds=R] [bucket_by=source|target]
      training: the Keras example's pipeline against ours, alternating epochs
  s2s-benchmark time_to_quality data_path=PAIRS [batch_size=N] [bfloat16=true]
      epochs until ours reaches the textbook's validation loss
  s2s-benchmark memory data_path=PAIRS [lines=500000,5000000] [steps=200]
      peak memory of streamed training per corpus size
  s2s-benchmark startup [repeats=5]
      seconds to --help, --cfg job and a refused override, each in a fresh process

Full reference and measured numbers: docs/benchmarks.md.
"""
COMPARE_USAGE = """\
s2s-compare: a Markdown table of finished runs (test chrF, BLEU, exact match, epochs,
minutes, training pairs/s), one row per run directory.

  s2s-compare RUN [RUN ...]
"""

benchmark = _plain_command("seq2seq.bench.cli", BENCHMARK_USAGE)
compare = _plain_command("seq2seq.compare", COMPARE_USAGE)
