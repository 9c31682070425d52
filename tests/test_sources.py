"""The file sources: data=tsv (columns by index), data=anki (its alias), data=parallel (two
line-aligned files with optional dev and test files, streamed too), and scoring a
hypothesis file with no model."""

import json
import logging

import pytest

from seq2seq.data import DATA_SOURCES, load_task
from seq2seq.data.stream import StreamedPairs
from seq2seq.errors import Seq2SeqError
from seq2seq.tasks.evaluate import evaluate
from tests.conftest import compose_config

SOURCES = [f"src {i}" for i in range(60)]
TARGETS = [f"tgt {i} é" for i in range(60)]


def _lines(path, lines, end="\n", encoding="utf-8"):
    path.write_bytes((end.join(lines) + end).encode(encoding))
    return str(path)


def test_tsv_takes_the_columns_it_is_told_and_every_line_by_default(tmp_path):
    path = _lines(
        tmp_path / "three.tsv", [f"{t}\tnote\t{s}" for s, t in zip(SOURCES, TARGETS, strict=True)]
    )
    splits = load_task("tsv", path=path, source_column=2, target_column=0, val_size=5,
                       test_size=5)  # fmt: skip
    pairs = sorted([*splits.train, *splits.val, *splits.test])
    assert pairs == sorted(zip(SOURCES, TARGETS, strict=True))
    assert DATA_SOURCES.get("tsv").options(path=path).num_samples is None
    assert DATA_SOURCES.get("anki").options(path=path).num_samples == 10_000
    with pytest.raises(Seq2SeqError, match=r"source_column and data.target_column must differ"):
        load_task("tsv", path=path, source_column=1, target_column=1)


def test_tsv_lines_without_the_column_are_bad_lines(tmp_path, caplog):
    path = _lines(
        tmp_path / "p.tsv",
        [*(f"{s}\t{t}\tx" for s, t in zip(SOURCES, TARGETS, strict=True)), "a\tb"],
    )
    with caplog.at_level(logging.WARNING):
        splits = load_task("tsv", path=path, target_column=2, val_size=5, test_size=5)
    assert sum(splits.sizes().values()) == 60
    assert "skipped 1 bad line" in caplog.text and "no column 2" in caplog.text


def _parallel(tmp_path, n=60, **ends):
    src = _lines(tmp_path / "train.src", SOURCES[:n], **ends)
    tgt = _lines(tmp_path / "train.tgt", TARGETS[:n])
    return src, tgt


def test_parallel_files_with_their_own_dev_and_test_sets(tmp_path):
    src, tgt = _parallel(tmp_path, end="\r\n")  # CRLF on one side, LF on the other
    dev = (_lines(tmp_path / "dev.src", ["d1", "d2"]), _lines(tmp_path / "dev.tgt", ["D1", "D2"]))
    test = (_lines(tmp_path / "t.src", ["t1"]), _lines(tmp_path / "t.tgt", ["T1"]))
    splits = load_task("parallel", source=src, target=tgt, valid_source=dev[0],
                       valid_target=dev[1], test_source=test[0], test_target=test[1])  # fmt: skip
    assert splits.val == [("d1", "D1"), ("d2", "D2")] and splits.test == [("t1", "T1")]
    assert sorted(splits.train) == sorted(
        zip(SOURCES, TARGETS, strict=True)
    )  # nothing held out of train
    drawn = load_task("parallel", source=src, target=tgt, val_size=4, test_size=3)
    assert drawn.sizes() == {"train": 53, "val": 4, "test": 3}


def test_parallel_refuses_unequal_line_counts_naming_both(tmp_path):
    src = _lines(tmp_path / "a.src", SOURCES)
    tgt = _lines(tmp_path / "a.tgt", TARGETS[:59])
    with pytest.raises(Seq2SeqError, match=r"a.src has 60 lines but .*a.tgt has 59"):
        load_task("parallel", source=src, target=tgt)
    with pytest.raises(Seq2SeqError, match=r"has 59 lines but .*a.src has 60"):
        load_task("parallel", source=tgt, target=src)


def test_parallel_bad_settings_and_files_are_one_line(tmp_path):
    src, tgt = _parallel(tmp_path)
    with pytest.raises(Seq2SeqError, match=r"valid_source and data.valid_target go together"):
        load_task("parallel", source=src, target=tgt, valid_source=src)
    with pytest.raises(Seq2SeqError, match=r"data file not found: .*missing.tgt"):
        load_task("parallel", source=src, target=str(tmp_path / "missing.tgt"), valid_source=src,
                  valid_target=str(tmp_path / "missing.tgt"))  # fmt: skip
    with pytest.raises(Seq2SeqError, match=r"needs data.source and data.target"):
        load_task("parallel", source=src)


def test_parallel_bad_lines_are_skipped_as_pairs_or_refused(tmp_path, caplog):
    src = _lines(tmp_path / "b.src", SOURCES)
    tgt = tmp_path / "b.tgt"
    tgt.write_bytes(b"\n".join(t.encode() for t in TARGETS[:10]) + b"\n\xff\xfe bad\n"
                    + b"\n".join(t.encode() for t in TARGETS[11:]) + b"\n")  # fmt: skip
    with caplog.at_level(logging.WARNING):
        splits = load_task("parallel", source=src, target=str(tgt), val_size=5, test_size=5)
    assert sum(splits.sizes().values()) == 59
    assert "b.tgt:11: not valid UTF-8" in caplog.text
    with pytest.raises(Seq2SeqError, match=r"bad line .*b.tgt:11: not valid UTF-8"):
        load_task("parallel", source=src, target=str(tgt), strict=True)


def test_a_utf16_parallel_file_with_a_byte_order_mark_is_read(tmp_path):
    src = _lines(tmp_path / "u.src", SOURCES, encoding="utf-16")
    tgt = _lines(tmp_path / "u.tgt", TARGETS)
    splits = load_task("parallel", source=src, target=tgt, val_size=5, test_size=5)
    assert sorted([*splits.train, *splits.val, *splits.test]) == sorted(
        zip(SOURCES, TARGETS, strict=True)
    )


def test_parallel_files_stream_with_the_same_pairs(tmp_path):
    src, tgt = _parallel(tmp_path)
    dev = (_lines(tmp_path / "dev.src", ["d1"]), _lines(tmp_path / "dev.tgt", ["D1"]))
    splits = load_task("parallel", source=src, target=tgt, valid_source=dev[0],
                       valid_target=dev[1], test_size=6, val_size=None, streaming=True)  # fmt: skip
    assert isinstance(splits.train, StreamedPairs) and len(splits.train) == 54
    assert splits.val == [("d1", "D1")] and len(splits.test) == 6
    everything = sorted([*splits.train, *splits.test])
    assert everything == sorted(zip(SOURCES, TARGETS, strict=True))
    with pytest.raises(Seq2SeqError, match=r"needs data.val_size and data.test_size"):
        load_task("parallel", source=src, target=tgt, streaming=True)


def test_scoring_a_hypothesis_file_needs_no_model(tmp_path, capsys):
    hyp = _lines(tmp_path / "hyp.txt", ["2026-11-28", "1999-01-02"], end="\r\n")
    ref = _lines(tmp_path / "ref.txt", ["2026-11-28", "1999-01-03"])
    metrics = evaluate(compose_config("evaluate", [f"hypotheses={hyp}", f"references={ref}"]))
    assert metrics["exact_match"] == 0.5 and metrics["num_pairs"] == 2
    assert (
        metrics["sacrebleu/bleu"].startswith("nrefs:1|") and "version:" in metrics["sacrebleu/chrf"]
    )
    written = json.loads((tmp_path / "hyp.txt.scores.json").read_text())
    assert written == metrics == json.loads(capsys.readouterr().out)
    short = _lines(tmp_path / "short.txt", ["x"])
    with pytest.raises(Seq2SeqError, match=r"hyp.txt has 2 lines but .*short.txt has 1"):
        evaluate(compose_config("evaluate", [f"hypotheses={hyp}", f"references={short}"]))
    own = tmp_path / "out"
    own.mkdir()
    ref_named_metrics = _lines(own / "metrics.json", ["2026-11-28", "1999-01-03"])
    with pytest.raises(Seq2SeqError, match="is the input file"):
        evaluate(compose_config("evaluate", [f"hypotheses={hyp}",
                                             f"references={ref_named_metrics}",
                                             f"output_dir={own}"]))  # fmt: skip
    assert json.loads(json.dumps((own / "metrics.json").read_text())).startswith("2026")
    with pytest.raises(Seq2SeqError, match="references is required"):
        evaluate(compose_config("evaluate", [f"hypotheses={hyp}"]))
    new = tmp_path / "new" / "scores"  # created, as s2s-evaluate run_dir=... creates its own
    evaluate(compose_config("evaluate", [f"hypotheses={hyp}", f"references={ref}",
                                         f"output_dir={new}"]))  # fmt: skip
    assert json.loads((new / "metrics.json").read_text())["exact_match"] == 0.5
