import logging

import pytest

from seq2seq.data import load_task
from seq2seq.data.anki import load_anki, read_anki
from seq2seq.errors import Seq2SeqError

PAIRS = [("Go.", "Va !"), ("Hi.", "Salut !"), ("Run!", "Cours !"), ("Wow!", "Ça alors !")]


def _write(path, lines, encoding="utf-8"):
    path.write_bytes("".join(line + "\n" for line in lines).encode(encoding))
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
    with pytest.raises(Seq2SeqError, match="unknown data task"):
        load_task("nope")
