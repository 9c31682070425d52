"""A new data source is one registered class plus one YAML (here in the user's own config
directory, ``--config-dir``): ``s2s-train data=<name>`` then trains on it, with no list
edited anywhere."""

import json
from dataclasses import dataclass

import pytest

from seq2seq.data.dates import load_dates
from seq2seq.data.sources import DATA_SOURCES, DataSource, SourceOptions
from seq2seq.data.splits import Splits
from tests.conftest import QUIET, TINY


@dataclass(frozen=True)
class BackwardsOptions(SourceOptions):
    """``data=backwards``: ISO dates back to how people write them."""

    num_samples: int = 300


@pytest.fixture
def backwards():
    @DATA_SOURCES.register("backwards")
    class BackwardsSource(DataSource):
        options = BackwardsOptions

        @classmethod
        def load(cls, opts):
            dates = load_dates(opts.num_samples)
            return Splits(*([(t, s) for s, t in pairs] for pairs in (dates.train, dates.val,
                                                                     dates.test)))  # fmt: skip

    yield BackwardsSource
    DATA_SOURCES.unregister("backwards")


def test_a_new_source_trains_from_one_class_and_one_yaml(backwards, cli, tmp_path):
    yaml = tmp_path / "my_configs" / "data" / "backwards.yaml"
    yaml.parent.mkdir(parents=True)
    yaml.write_text("defaults:\n  - /data_source/backwards@_here_\n  - _self_\n")
    run = tmp_path / "run"
    result = cli("train", "--config-dir", str(yaml.parent.parent), "data=backwards",
                 "data.num_samples=200", *[a for a in TINY if not a.startswith("data.")],
                 *QUIET, "trainer.epochs=1", f"hydra.run.dir={run}")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test/num_pairs"] > 0
    config = (run / "config.yaml").read_text()
    assert "name: backwards" in config and "num_samples: 200" in config
