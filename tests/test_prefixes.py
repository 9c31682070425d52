"""Forced prefixes through every door: the library, s2s-translate (prefixes= and
prefix_file=) and the service, with one-line refusals of what cannot work."""

import pytest
from fastapi.testclient import TestClient

from seq2seq.api import Limits
from seq2seq.errors import Seq2SeqError
from seq2seq.serving import create_app
from seq2seq.translation import Translator

INPUTS = ["Nov 28, 2026", "le 1er mai 1999", "04.07.1950"]


def test_each_candidate_starts_with_its_inputs_prefix_and_scores_the_rest(trained_run):
    translator = Translator.from_run_dir(trained_run)
    plain = translator.candidates(INPUTS, decoding="beam", n_best=2)
    forced = translator.candidates(INPUTS, decoding="beam", n_best=2,
                                   prefixes=["1999-", None, ""])  # fmt: skip
    assert all(c.text.startswith("1999-") for c in forced[0])
    assert [c.text for c in forced[1]] == [c.text for c in plain[1]]  # no prefix: unchanged
    greedy = translator.candidates(INPUTS[2:])[0][0]
    own = translator.candidates(INPUTS[2:], prefixes=[greedy.text[:3]])[0][0]
    assert own.text == greedy.text  # its own start: the same translation,
    assert own.score > greedy.score  # scored on what follows the prefix only


@pytest.mark.parametrize(
    ("prefixes", "message"),
    [
        (["1999-"], "1 prefixes for 3 inputs: give one per input"),
        (["日", "", ""], "the prefix of input 0 has characters the model never writes: '日'"),
        (["1" * 200, "", ""], "the prefix of input 0 is 200 tokens: it leaves no room"),
    ],
)
def test_prefixes_that_cannot_work_are_refused(trained_run, prefixes, message):
    with pytest.raises(Seq2SeqError, match=message):
        Translator.from_run_dir(trained_run).candidates(INPUTS, prefixes=prefixes)


def test_translate_takes_prefixes_from_a_list_or_a_file(trained_run, tmp_path, cli):
    done = cli("translate", f"run_dir={trained_run}", "inputs=['Nov 28, 2026','1/2/99']",
               "prefixes=['1999-','']")  # fmt: skip
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first.startswith("1999-")
    assert second == Translator.from_run_dir(trained_run).translate(["1/2/99"])[0]
    prefix_file = tmp_path / "prefixes.txt"
    prefix_file.write_text("1999-\n", encoding="utf-8")
    short = cli("translate", f"run_dir={trained_run}", "inputs=['Nov 28, 2026','1/2/99']",
                f"prefix_file={prefix_file}")  # fmt: skip
    assert short.returncode == 2
    assert short.stderr.strip().splitlines()[-1] == (
        f"error: {prefix_file} has 1 prefix(es) for 2 input(s): give one per input (an empty"
        " one for none)"
    )


def test_the_service_takes_a_prefix_per_input(trained_run):
    translator = Translator.from_run_dir(trained_run)
    with TestClient(create_app(translator, {}, Limits())) as client:
        got = client.post("/translate", json=[{"src": INPUTS[0], "prefix": "1999-"},
                                               {"src": INPUTS[1]}])  # fmt: skip
        assert got.status_code == 200, got.text
        first, second = got.json()
        assert first["tgt"].startswith("1999-")
        assert second["tgt"] == translator.translate(INPUTS[1:2])[0]
        bad = client.post("/translate", json=[{"src": INPUTS[0], "prefix": 3}])
        assert bad.status_code == 422 and "prefix must be text" in bad.json()["error"]
        unknown = client.post("/translate", json=[{"src": INPUTS[0], "prefix": "日"}])
        assert unknown.status_code == 422 and "never writes" in unknown.json()["error"]


def test_the_controls_work_from_the_command_line(trained_run, cli):
    done = cli("translate", f"run_dir={trained_run}", "inputs=['Nov 28, 2026','1/2/99']",
               "decoding.max_length_ratio=0.5", "decoding.no_repeat_ngram_size=4")  # fmt: skip
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert len(first) <= 6 and len(second) <= 3  # ceil(0.5 x 12), ceil(0.5 x 6) characters
