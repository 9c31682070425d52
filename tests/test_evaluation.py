import csv
import json

import pytest
import sacrebleu

from seq2seq.evaluation import (
    char_accuracy,
    character_error_rate,
    edit_distance,
    exact_match,
    score,
)
from seq2seq.tasks.evaluate import evaluate
from tests.conftest import compose_config


def test_edit_distance_and_cer():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3 and edit_distance("abc", "abc") == 0
    assert character_error_rate(["2026-11-28", "1999"], ["2026-11-29", "1990"]) == pytest.approx(
        2 / 14
    )


def test_exact_match_and_char_accuracy_count_missing_and_extra_characters():
    refs = ["2026-11-28", "abc", "xy"]
    hyps = ["2026-11-28", "abcd", "x"]
    assert exact_match(hyps, refs) == pytest.approx(1 / 3)
    assert char_accuracy(hyps, refs) == pytest.approx((10 + 3 + 1) / (10 + 4 + 2))


def test_score_uses_sacrebleu():
    hyps, refs = ["le chat est là", "bonjour"], ["le chat est ici", "bonjour"]
    s = score(hyps, refs)
    assert s["chrf"] == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score)
    assert s["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score)


def test_evaluate_writes_metrics_that_sacrebleu_recomputes_from_the_tsv(trained_run, tmp_path):
    pairs = tmp_path / "pairs.txt"
    pairs.write_text(
        "Nov 28, 2026\t2026-11-28\nle 1er mai 1999\t1999-05-01\n04.07.1950\t1950-07-04\n",
        encoding="utf-8",
    )
    out = tmp_path / "eval"
    cfg = compose_config(
        "evaluate", [f"run_dir={trained_run}", f"pairs_file={pairs}", f"output_dir={out}"]
    )
    metrics = evaluate(cfg)
    assert json.loads((out / "metrics.json").read_text()) == metrics
    with (out / "translations.tsv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    assert rows[0] == ["source", "reference", "hypothesis"]
    refs, hyps = [r[1] for r in rows[1:]], [r[2] for r in rows[1:]]
    assert refs == ["2026-11-28", "1999-05-01", "1950-07-04"]
    assert metrics["chrf"] == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score)
    assert metrics["exact_match"] == exact_match(hyps, refs)
    assert metrics["num_pairs"] == 3


def test_evaluate_defaults_to_the_runs_test_split(trained_run, tmp_path):
    cfg = compose_config(
        "evaluate", [f"run_dir={trained_run}", f"output_dir={tmp_path}", "decoding=beam"]
    )
    metrics = evaluate(cfg)
    train_metrics = json.loads((trained_run / "metrics.json").read_text())
    assert metrics["num_pairs"] == train_metrics["test/num_pairs"]
    assert metrics["decoding"] == "beam"


def test_an_unseeded_anki_runs_test_split_cannot_be_regenerated(tmp_path):
    from seq2seq.errors import Seq2SeqError
    from seq2seq.evaluation import run_test_pairs
    from seq2seq.rundir import RunDir

    RunDir(tmp_path).write_config({"data": {"name": "anki", "path": "x.txt", "seed": None}})
    with pytest.raises(Seq2SeqError, match=r"data\.seed is null"):
        run_test_pairs(tmp_path)


def test_evaluate_without_output_dir_writes_into_the_run(trained_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    evaluate(compose_config("evaluate", [f"run_dir={run}"]))
    assert json.loads((run / "eval" / "metrics.json").read_text())["decoding"] == "greedy"
    assert (run / "eval" / "translations.tsv").is_file()


@pytest.mark.parametrize("decoding", ["greedy", "beam"])
def test_a_seed_that_decoding_would_not_use_is_refused(trained_run, tmp_path, decoding):
    from seq2seq.errors import Seq2SeqError

    cfg = compose_config(
        "evaluate",
        [f"run_dir={trained_run}", f"output_dir={tmp_path}", f"decoding={decoding}", "seed=3"],
    )
    with pytest.raises(Seq2SeqError, match=rf"seed=3 has no effect with decoding={decoding}"):
        evaluate(cfg)
