import datetime as dt
import random
import re
import unicodedata

from seq2seq.data.dates import (
    EN_WEEKDAYS,
    FIRST_DATE,
    FR_WEEKDAYS,
    LAST_DATE,
    load_dates,
    render_english,
    render_french,
    render_numeric,
)


def _strip(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def test_same_seed_same_pairs_and_other_seed_other_pairs():
    a = load_dates(300, seed=7)
    b = load_dates(300, seed=7)
    c = load_dates(300, seed=8)
    assert a == b
    assert a.train != c.train


def test_sizes_and_targets_are_iso_dates_in_range():
    splits = load_dates(1000, val_fraction=0.1, test_fraction=0.2, seed=0)
    assert splits.sizes() == {"train": 700, "val": 100, "test": 200}
    for _, target in splits.train + splits.val + splits.test:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", target)
        assert FIRST_DATE <= dt.date.fromisoformat(target) <= LAST_DATE


def test_splits_are_disjoint_by_calendar_date():
    splits = load_dates(20000, seed=0)
    train = {t for _, t in splits.train}
    val = {t for _, t in splits.val}
    test = {t for _, t in splits.test}
    assert not train & val and not train & test and not val & test


def test_full_weekday_names_are_the_true_weekday():
    rng = random.Random(0)
    checked = 0
    for _ in range(3000):
        date = FIRST_DATE + dt.timedelta(days=rng.randrange(73049))
        for render, names in ((render_english, EN_WEEKDAYS), (render_french, FR_WEEKDAYS)):
            words = re.findall(r"[a-z]+", _strip(render(rng, date)).lower())
            named = [i for i, name in enumerate(names) if _strip(name).lower() in words]
            if named:
                checked += 1
                assert named == [date.weekday()]
    assert checked > 500


def test_numeric_forms_encode_the_date():
    rng = random.Random(1)
    date = dt.date(2026, 3, 4)
    seen = {render_numeric(rng, date) for _ in range(300)}
    assert {"04.03.2026", "2026/03/04", "2026-03-04"} <= seen
    assert seen <= {"04.03.2026", "2026/03/04", "4.3.2026", "2026/3/4", "2026-03-04"}


def test_generator_covers_the_formats_people_write():
    sources = [s for s, _ in load_dates(6000, seed=0).train]
    text = "\n".join(sources)
    required = {
        "full English month": r"\b(January|February|November|December)\b",
        "full French month": r"\b(janvier|février|août|décembre)\b",
        "abbreviated month without period": r"\b(Nov|Jan|Feb) ",
        "abbreviated month with period": r"\b(nov|Nov|jan)\.",
        "French févr.": r"févr\.",
        "English weekday": r"\b(Monday|Tue|Wed\.|Thursday|Fri)\b",
        "French weekday": r"\b(lundi|mardi|mer\.|jeudi|ven)\b",
        "ordinal st": r"\b\d*1st\b",
        "ordinal nd": r"\b\d*2nd\b",
        "ordinal rd": r"\b\d*3rd\b",
        "ordinal th": r"\b\d+th\b",
        "French 1er": r"\b1er\b",
        "month-day-year": r"^[A-Z][a-z]+\.? \d{1,2}(st|nd|rd|th)?,? \d{4}$",
        "day-month-year": r"^\d{1,2}(st|nd|rd|th)? [A-Z][a-z]+\.?,? \d{4}$",
        "comma before year": r", \d{4}$",
        "lower case": r"^[a-zéû0-9 .,]+ \d{4}$",
        "UPPER case": r"^[A-ZÉÛ0-9 .,]+ \d{4}$",
        "DD.MM.YYYY": r"^\d{2}\.\d{2}\.\d{4}$",
        "YYYY/MM/DD": r"^\d{4}/\d{2}/\d{2}$",
    }
    missing = [
        name for name, pattern in required.items() if not re.search(pattern, text, re.MULTILINE)
    ]
    assert not missing
