import logging

import pytest

from seq2seq.data import load_task
from seq2seq.data.anki import load_anki, read_anki
from seq2seq.errors import Seq2SeqError

PAIRS = [("Go.", "Va !"), ("Hi.", "Salut !"), ("Run!", "Cours !"), ("Wow!", "Ça alors !")]


def _write(path, lines, encoding="utf-8", end="\n"):
    path.write_bytes("".join(line + end for line in lines).encode(encoding))
    return path


def test_two_and_three_column_files_read_the_same(tmp_path):
    two = _write(tmp_path / "two.txt", [f"{s}\t{t}" for s, t in PAIRS])
    three = _write(
        tmp_path / "three.txt",
        [
            f"{s}\t{t}\tCC-BY 2.0 (France) Attribution: tatoeba.org #{i}"
            for i, (s, t) in enumerate(PAIRS)
        ],
    )
    assert read_anki(two) == PAIRS
    assert read_anki(three) == PAIRS


def test_num_samples_keeps_the_first_lines_and_reverse_swaps(tmp_path):
    path = _write(tmp_path / "f.txt", [f"{s}\t{t}" for s, t in PAIRS])
    assert read_anki(path, num_samples=2) == PAIRS[:2]
    assert read_anki(path, num_samples=1, reverse=True) == [("Va !", "Go.")]


def test_bad_lines_are_skipped_with_a_warning_naming_them(tmp_path, caplog):
    path = tmp_path / "dirty.txt"
    path.write_bytes(
        b"Go.\tVa !\nno tab here\n\n\tonly target\nbad \xff\xfe\tbytes\nHi.\tSalut !\n"
    )
    with caplog.at_level(logging.WARNING):
        pairs = read_anki(path)
    assert pairs == [("Go.", "Va !"), ("Hi.", "Salut !")]
    assert "skipped 4 bad line(s)" in caplog.text
    assert f"{path}:2: no tab" in caplog.text
    assert f"{path}:5: not valid UTF-8" in caplog.text


def test_strict_mode_refuses_the_first_bad_line(tmp_path):
    path = tmp_path / "dirty.txt"
    path.write_bytes(b"Go.\tVa !\nno tab here\n")
    with pytest.raises(Seq2SeqError, match=r"dirty.txt:2: no tab"):
        read_anki(path, strict=True)


def test_missing_or_empty_file_is_a_clear_error(tmp_path):
    with pytest.raises(Seq2SeqError, match="data file not found"):
        read_anki(tmp_path / "missing.txt")
    empty = _write(tmp_path / "empty.txt", ["just words"])
    with pytest.raises(Seq2SeqError, match="no usable"):
        read_anki(empty)


def test_split_is_seeded_and_partitions_the_pairs(tmp_path):
    lines = [f"s{i}\tt{i}" for i in range(100)]
    path = _write(tmp_path / "f.txt", lines)
    a = load_anki(path, val_fraction=0.1, test_fraction=0.2, seed=3)
    assert a == load_anki(path, val_fraction=0.1, test_fraction=0.2, seed=3)
    assert a.sizes() == {"train": 70, "val": 10, "test": 20}
    assert sorted(a.train + a.val + a.test) == sorted(read_anki(path))


def test_load_task_requires_a_path_and_knows_its_tasks():
    with pytest.raises(Seq2SeqError, match=r"data\.path is required"):
        load_task("anki", path=None)
    with pytest.raises(
        Seq2SeqError,
        match=r"data\.name=.nope. is unknown; choose one of"
        r" \[.anki., .dates., .hf., .parallel., .tsv.\]",
    ):
        load_task("nope")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig"])
def test_files_with_a_byte_order_mark_are_decoded(tmp_path, encoding):
    lines = [f"{s}\t{t}" for s, t in PAIRS]
    path = tmp_path / "bom.txt"
    text = "".join(line + "\r\n" for line in lines)
    bom = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}.get(encoding, b"")
    path.write_bytes(bom + text.encode(encoding))
    assert read_anki(path) == PAIRS


def test_utf16_without_a_byte_order_mark_is_refused_naming_nul_bytes(tmp_path):
    path = _write(tmp_path / "nobom.txt", [f"{s}\t{t}" for s, t in PAIRS], "utf-16-le")
    with pytest.raises(Seq2SeqError, match=r"no usable .* \(first bad line: .*:1: NUL bytes"):
        read_anki(path)
    with pytest.raises(Seq2SeqError, match=r"nobom\.txt:1: NUL bytes"):
        read_anki(path, strict=True)


def test_a_bom_that_lies_is_one_line(tmp_path):
    path = tmp_path / "liar.txt"
    path.write_bytes(b"\xff\xfe" + "Go.\tVa !\n".encode("utf-16-le") + b"\x00\xd8")
    with pytest.raises(Seq2SeqError, match=r"starts with a UTF-16 byte-order mark but is not"):
        read_anki(path)


def test_long_pairs_are_dropped_by_default_and_warned_about_without_a_limit(tmp_path, caplog):
    long_line = "x" * 200_000
    lines = [f"{s}\t{t}" for s, t in PAIRS * 75] + [f"{long_line}\tlong"]
    path = _write(tmp_path / "long.txt", lines)
    from tests.conftest import compose_config

    data = compose_config("train", ["data=anki", f"data.path={path}"]).data
    options = {k: v for k, v in data.items() if k != "name"} | {"num_samples": None}
    assert options["max_length"] == 256
    splits = load_task("anki", **options)
    assert max(len(s) for split in splits.sizes() for s, _ in getattr(splits, split)) < 256
    with caplog.at_level(logging.WARNING):
        unlimited = load_task("anki", **(options | {"max_length": None, "val_fraction": 0.0,
                                                     "test_fraction": 0.0}))  # fmt: skip
    assert any(len(s) == 200_000 for s, _ in unlimited.train)
    assert "the longest training pair has 200000 characters" in caplog.text


@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_lf_and_crlf_files_read_the_same(tmp_path, end):
    path = _write(tmp_path / "pairs.txt", [f"{s}\t{t}" for s, t in PAIRS], end=end)
    assert read_anki(path) == PAIRS


def test_a_file_with_cr_only_line_ends_is_refused_not_read_as_one_pair(tmp_path):
    path = _write(tmp_path / "mac.txt", [f"{s}\t{t}" for s, t in PAIRS], end="\r")
    with pytest.raises(Seq2SeqError, match=r"mac\.txt:1: carriage return inside the line"):
        read_anki(path)


def test_val_and_test_sizes_override_the_fractions(tmp_path):
    lines = [f"s{i}\tt{i}" for i in range(100)]
    path = _write(tmp_path / "many.txt", lines)
    splits = load_anki(path, num_samples=None, val_size=7, test_size=3)
    assert splits.sizes() == {"train": 90, "val": 7, "test": 3}
    everything = splits.train + splits.val + splits.test
    assert sorted(everything) == sorted(tuple(line.split("\t")) for line in lines)
    assert load_anki(path, num_samples=None, val_size=7, test_size=3) == splits  # seeded
    with pytest.raises(ValueError, match="leave no training pair"):
        load_anki(path, num_samples=None, val_size=60, test_size=40)
