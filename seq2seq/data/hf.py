"""``data=hf``: sentence pairs from a Hugging Face ``datasets`` dataset on local disk.

``data.path`` is either a directory written by ``Dataset.save_to_disk`` /
``DatasetDict.save_to_disk``, or a local data file (``.json``, ``.jsonl``, ``.csv``,
``.parquet``) read with the ``datasets`` builder of that format (``data.valid_path`` and
``data.test_path`` add validation and test files of the same kind). Nothing is fetched from
the Hugging Face Hub: this source reads local files only.

The source and target texts are the fields ``data.source_field`` and ``data.target_field``;
a dotted name reaches into a nested field, as in the Hub's translation datasets
(``translation.en``, ``translation.fr``). A row whose field is missing, not a string, empty,
or holds a line break or NUL character is bad: skipped with one warning that counts them and
names the first few ``split[row]`` positions, or (``data.strict``) refused. Splits named by
``data.valid_split`` / ``data.test_split`` that the dataset lacks are held out of the
training split, as the other sources do.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seq2seq.data.lines import report_bad_lines
from seq2seq.data.sources import DATA_SOURCES, DataSource, FileSourceOptions
from seq2seq.data.splits import Pair, Splits, split_pairs
from seq2seq.errors import Seq2SeqError
from seq2seq.extras import require

#: Data-file extensions and the ``datasets`` builder that reads them.
BUILDERS = {".json": "json", ".jsonl": "json", ".csv": "csv", ".parquet": "parquet"}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HfOptions(FileSourceOptions):
    """``data=hf`` settings; the sample count, held-out sizes, seed, ``strict`` and
    ``max_length`` are :class:`~seq2seq.data.sources.FileSourceOptions`'.

    Attributes:
        path: a ``save_to_disk`` directory or a ``.json``/``.jsonl``/``.csv``/``.parquet``
            file; required.
        valid_path: with a data file, a validation file of the same kind (None: held out).
        test_path: with a data file, a test file of the same kind (None: held out).
        source_field: the field of the source text (dotted for nested fields).
        target_field: the field of the target text.
        train_split: the training split's name in a saved ``DatasetDict``.
        valid_split: the validation split's name (missing or None: held out of training).
        test_split: the test split's name (missing or None: held out of training).
    """

    path: str | None = None
    valid_path: str | None = None
    test_path: str | None = None
    source_field: str = "source"
    target_field: str = "target"
    train_split: str = "train"
    valid_split: str | None = "validation"
    test_split: str | None = "test"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.path:
            raise Seq2SeqError(
                "data=hf needs data.path: a save_to_disk directory or a .json/.jsonl/.csv/"
                ".parquet file"
            )
        if self.source_field == self.target_field:
            raise Seq2SeqError("data.source_field and data.target_field must differ")
        for side in ("valid", "test"):
            if getattr(self, f"{side}_path") and not getattr(self, f"{side}_split"):
                raise Seq2SeqError(f"data.{side}_path needs data.{side}_split (its split name)")
        if (self.valid_path or self.test_path) and Path(self.path).is_dir():
            raise Seq2SeqError(
                "data.valid_path and data.test_path go with a data file; a save_to_disk"
                " directory names its splits (data.valid_split, data.test_split)"
            )


def open_dataset(opts: HfOptions) -> Mapping[str, Any]:
    """The dataset's splits by name (a plain ``Dataset`` is the ``train_split``).

    Raises:
        Seq2SeqError: ``datasets`` not installed, a missing path, a directory that is no
            saved dataset, an unknown file kind or an unreadable file.
    """
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")  # local files only: never the Hub
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    datasets = require("datasets", "data=hf")
    path = Path(opts.path)
    if not path.exists():
        raise Seq2SeqError(f"data.path not found: {path}")
    try:
        if path.is_dir():
            loaded = datasets.load_from_disk(str(path))
        else:
            loaded = datasets.load_dataset(_builder(path), data_files=_files(opts), split=None)
    except Seq2SeqError:
        raise
    except Exception as exc:  # datasets raises many kinds for a file it cannot read
        first = str(exc).strip().split("\n")[0][:300]
        raise Seq2SeqError(f"cannot read the dataset {path}: {first}") from None
    if isinstance(loaded, datasets.Dataset):
        return {opts.train_split: loaded}
    return loaded


def _builder(path: Path) -> str:
    builder = BUILDERS.get(path.suffix.lower())
    if builder is None:
        kinds = ", ".join(sorted(BUILDERS))
        raise Seq2SeqError(f"data.path {path}: not a save_to_disk directory nor a {kinds} file")
    return builder


def _files(opts: HfOptions) -> dict[str, str]:
    files = {opts.train_split: opts.path}
    for split, file in ((opts.valid_split, opts.valid_path), (opts.test_split, opts.test_path)):
        if file:
            if not Path(file).is_file():
                raise Seq2SeqError(f"data file not found: {file}")
            if _builder(Path(file)) != _builder(Path(opts.path)):
                raise Seq2SeqError(f"{file} is not the same kind of file as {opts.path}")
            files[split] = file
    return files


def _field(row: Mapping[str, Any], name: str) -> Any:
    value: Any = row
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _text(value: Any) -> tuple[str | None, str]:
    if value is None:
        return None, "missing"
    if not isinstance(value, str):
        return None, f"a {type(value).__name__}, not a string"
    text = value.strip()
    if not text:
        return None, "empty"
    if "\n" in text or "\r" in text:
        return None, "a line break inside"
    if "\0" in text:
        return None, "NUL characters"
    return text, ""


def iter_rows(
    split: Any, name: str, opts: HfOptions, bad: list[str], limit: int | None = None
) -> Iterator[Pair]:
    """The good ``(source, target)`` pairs of one split; bad rows' positions go to ``bad``."""
    _check_fields(split, name, opts)
    count = 0
    for index, row in enumerate(split):
        if limit and count >= limit:
            return
        texts = []
        for key in (opts.source_field, opts.target_field):
            text, why = _text(_field(row, key))
            if text is None:
                where = f"{name}[{index}]: {key} is {why}"
                if opts.strict:
                    raise Seq2SeqError(f"bad row {where} (data.strict=true)")
                bad.append(where)
                break
            texts.append(text)
        else:
            count += 1
            yield texts[0], texts[1]


def _check_fields(split: Any, name: str, opts: HfOptions) -> None:
    columns = list(getattr(split, "column_names", None) or [])
    for key in (opts.source_field, opts.target_field):
        if key.split(".")[0] not in columns:
            raise Seq2SeqError(
                f"the dataset's {name} split has no field {key.split('.')[0]!r}"
                f" (data.{'source' if key == opts.source_field else 'target'}_field);"
                f" its fields: {', '.join(columns) or 'none'}"
            )


def read_split(data: Mapping[str, Any], name: str, opts: HfOptions, limit=None) -> list[Pair]:
    """Every good pair of split ``name``.

    Raises:
        Seq2SeqError: the split or a field is missing, no usable row, or (strict) a bad row.
    """
    if name not in data:
        raise Seq2SeqError(
            f"the dataset {opts.path} has no split {name!r} (data.train_split); its splits:"
            f" {', '.join(data) or 'none'}"
        )
    bad: list[str] = []
    pairs = list(iter_rows(data[name], name, opts, bad, limit))
    report_bad_lines(f"{opts.path} ({name})", bad)
    if not pairs:
        raise Seq2SeqError(f"no usable sentence pairs in the {name} split of {opts.path}")
    return pairs


@DATA_SOURCES.register("hf")
class HfSource(DataSource):
    """Sentence pairs from a local Hugging Face dataset (extra ``hf``)."""

    options = HfOptions

    @classmethod
    def load(cls, opts: HfOptions) -> Splits:
        data = open_dataset(opts)
        own = {
            side: read_split(data, split, opts)
            for side, split in (("val", opts.valid_split), ("test", opts.test_split))
            if split and split in data
        }
        for side, split in (("val", opts.valid_split), ("test", opts.test_split)):
            if side not in own:
                log.info("no %s split %r in %s: its pairs are held out of the training split",
                         side, split, opts.path)  # fmt: skip
        train = read_split(data, opts.train_split, opts, opts.num_samples)
        val_size = 0 if "val" in own else opts.val_size
        test_size = 0 if "test" in own else opts.test_size
        try:
            drawn = split_pairs(train, opts.val_fraction, opts.test_fraction, opts.seed,
                                val_size, test_size)  # fmt: skip
        except ValueError as exc:
            raise Seq2SeqError(f"data=hf: {exc}") from None
        return Splits(train=drawn.train, val=own.get("val", drawn.val),
                      test=own.get("test", drawn.test))  # fmt: skip

    @classmethod
    def stream(cls, opts: HfOptions) -> Splits:
        raise Seq2SeqError(
            "data.streaming=true is not supported by data=hf: its pairs are read into memory"
            " (data=tsv and data=parallel stream files)"
        )
