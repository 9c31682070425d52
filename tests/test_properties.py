"""Property-based tests (hypothesis)."""

import functools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seq2seq.data.anki import read_anki
from seq2seq.errors import Seq2SeqError
from seq2seq.translation import Translator
from seq2seq.vocab import UNK_ID, Vocabulary

ALPHABET = "abcdefghijklmnopqrstuvwxyz éèàç0123456789.,!?'-"
VOCAB = Vocabulary(ALPHABET)


@given(st.text(alphabet=ALPHABET))
def test_vocabulary_round_trips_any_text_of_its_alphabet(text):
    assert VOCAB.decode(VOCAB.encode(text, add_start=True, add_end=True)) == text


@given(st.text())
def test_vocabulary_maps_everything_else_to_unk(text):
    ids = VOCAB.encode(text)
    assert len(ids) == len(text)
    for ch, i in zip(text, ids, strict=True):
        assert (i == UNK_ID) == (ch not in ALPHABET)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=50)
@given(st.binary(max_size=400))
def test_lenient_anki_reader_never_crashes_on_random_bytes(tmp_path, data):
    path = tmp_path / "random.txt"
    path.write_bytes(data)
    try:
        pairs = read_anki(path)
    except Seq2SeqError as exc:  # only "no usable pairs" is allowed
        assert "no usable" in str(exc)
    else:
        assert all(s and t and "\t" not in s and "\t" not in t for s, t in pairs)


@functools.cache
def _translator(run_dir) -> Translator:
    """The run's translator, loaded once for all examples (loading is not the property)."""
    return Translator.from_run_dir(run_dir)


@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=25, deadline=None
)
@given(st.lists(st.text(max_size=80), max_size=12))
def test_translate_returns_one_string_per_input_for_any_unicode(trained_run, texts):
    out = _translator(trained_run).translate(texts)
    assert len(out) == len(texts)
    assert all(isinstance(o, str) and "\n" not in o for o in out)
