"""The built-in toy task: dates written the way people write them -> ISO ``YYYY-MM-DD``.

Every date between 1900-01-01 and 2099-12-31 can appear. A source is an English or French
rendering ("Saturday, Nov. 28th, 2026", "le 1er janvier 1999", "SAM. 28 NOV. 2026") or a
numeric form (``DD.MM.YYYY``, ``YYYY/MM/DD``); the target is always ``2026-11-28``.

Generation is deterministic for a seed and needs no download. The train, validation and
test splits are disjoint by calendar date: a date used in one split never appears in another,
so test accuracy measures generalisation to unseen dates, not memorisation.

Run ``python -m seq2seq.data -n 20`` to print a sample as ``source<TAB>target`` lines.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from seq2seq.data.sources import DATA_SOURCES, DataSource, SourceOptions
from seq2seq.data.splits import Pair, Splits, split_sizes

FIRST_DATE = dt.date(1900, 1, 1)
LAST_DATE = dt.date(2099, 12, 31)

EN_MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip
# Abbreviations people use; a truncated form may take a trailing period ("Nov.").
EN_MONTH_ABBR = [["Jan"], ["Feb"], ["Mar"], ["Apr"], ["May"], ["Jun"], ["Jul"], ["Aug"],
                 ["Sep", "Sept"], ["Oct"], ["Nov"], ["Dec"]]  # fmt: skip
EN_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
EN_WEEKDAY_ABBR = [["Mon"], ["Tue", "Tues"], ["Wed"], ["Thu", "Thur", "Thurs"], ["Fri"],
                   ["Sat"], ["Sun"]]  # fmt: skip

FR_MONTHS = [
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
]  # fmt: skip
FR_MONTH_ABBR = [["janv"], ["févr", "fév"], ["mars"], ["avr"], ["mai"], ["juin"],
                 ["juil", "juill"], ["août"], ["sept"], ["oct"], ["nov"], ["déc"]]  # fmt: skip
FR_WEEKDAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
FR_WEEKDAY_ABBR = [["lun"], ["mar"], ["mer"], ["jeu"], ["ven"], ["sam"], ["dim"]]

LANGUAGES = ("en", "fr", "numeric")


def iso(date: dt.date) -> str:
    """The target form of ``date``: ``YYYY-MM-DD``."""
    return date.isoformat()


def all_dates() -> list[dt.date]:
    """Every calendar date the task covers, in order."""
    n = (LAST_DATE - FIRST_DATE).days + 1
    return [FIRST_DATE + dt.timedelta(days=i) for i in range(n)]


def _strip_accents(text: str) -> str:
    return "".join(
        ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) != "Mn"
    )


def _abbrev(rng: random.Random, full: str, choices: list[str]) -> str:
    """A short form of a month/weekday name, with a trailing period when it is truncated."""
    short = rng.choice(choices)
    if short != full and rng.random() < 0.5:
        short += "."
    return short


def _name(rng: random.Random, full: str, short_forms: list[str], p_full: float) -> str:
    """The full name with probability ``p_full``, else one of its short forms."""
    return full if rng.random() < p_full else _abbrev(rng, full, short_forms)


def _en_ordinal(day: int) -> str:
    if 11 <= day % 100 <= 13:
        return f"{day}th"
    return f"{day}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(day % 10, 'th') }"


def _day_number(rng: random.Random, day: int) -> str:
    """A plain day number, zero-padded now and then ("03")."""
    return f"{day:02d}" if day < 10 and rng.random() < 0.15 else str(day)


_SMALL_WORDS = {"of", "the", "le"}


def _title(text: str) -> str:
    """Capitalises words that start with a letter ("1er" stays "1er", unlike str.title).

    Small words ("of", "the", "le") stay lower case except at the start.
    """
    words = text.split(" ")
    return " ".join(
        w[:1].upper() + w[1:] if w[:1].isalpha() and (i == 0 or w not in _SMALL_WORDS) else w
        for i, w in enumerate(words)
    )


def _apply_case(rng: random.Random, text: str) -> str:
    r = rng.random()
    if r < 0.5:
        return text  # as generated: English capitalised, French lower case
    if r < 0.7:
        return text.lower()
    if r < 0.85:
        return _title(text)
    return text.upper()


def render_english(rng: random.Random, date: dt.date) -> str:
    """An English rendering: month-day-year or day-month-year, maybe with a weekday."""
    month = _name(rng, EN_MONTHS[date.month - 1], EN_MONTH_ABBR[date.month - 1], 0.5)
    day = _en_ordinal(date.day) if rng.random() < 0.35 else _day_number(rng, date.day)
    comma = "," if rng.random() < 0.5 else ""

    weekday = ""
    if rng.random() < 0.35:
        wd = _name(rng, EN_WEEKDAYS[date.weekday()], EN_WEEKDAY_ABBR[date.weekday()], 0.5)
        weekday = wd + rng.choice([", ", " "])

    style = rng.random()
    if style < 0.5:  # November 28, 2026
        body = f"{month} {day}{comma} {date.year}"
    elif style < 0.9:  # 28 November 2026
        body = f"{day} {month}{comma} {date.year}"
    else:  # the 28th of November, 2026
        article = "the " if rng.random() < 0.7 else ""
        body = f"{article}{_en_ordinal(date.day)} of {month}{comma} {date.year}"
    return _apply_case(rng, weekday + body)


def render_french(rng: random.Random, date: dt.date) -> str:
    """A French rendering: day-month-year, maybe with "le", a weekday and "1er"."""
    month = _name(rng, FR_MONTHS[date.month - 1], FR_MONTH_ABBR[date.month - 1], 0.55)
    day = "1er" if date.day == 1 and rng.random() < 0.7 else _day_number(rng, date.day)

    weekday = ""
    if rng.random() < 0.35:
        wd = _name(rng, FR_WEEKDAYS[date.weekday()], FR_WEEKDAY_ABBR[date.weekday()], 0.6)
        weekday = wd + rng.choice([" ", " ", ", "])
    article = "le " if rng.random() < 0.25 else ""
    text = f"{article}{weekday}{day} {month} {date.year}"
    if rng.random() < 0.1:  # people often type French without accents
        text = _strip_accents(text)
    return _apply_case(rng, text)


def render_numeric(rng: random.Random, date: dt.date) -> str:
    """A numeric rendering: ``DD.MM.YYYY`` or ``YYYY/MM/DD`` (sometimes without zero padding),
    now and then already ISO ``YYYY-MM-DD`` (which translates to itself)."""
    r = rng.random()
    if r < 0.06:
        return iso(date)
    padded = rng.random() < 0.8
    d = f"{date.day:02d}" if padded else str(date.day)
    m = f"{date.month:02d}" if padded else str(date.month)
    if r < 0.53:
        return f"{d}.{m}.{date.year}"
    return f"{date.year}/{m}/{d}"


RENDERERS: dict[str, Callable[[random.Random, dt.date], str]] = {
    "en": render_english,
    "fr": render_french,
    "numeric": render_numeric,
}
DEFAULT_WEIGHTS = {"en": 0.47, "fr": 0.38, "numeric": 0.15}


def render(rng: random.Random, date: dt.date, languages: dict[str, float] | None = None) -> str:
    """Writes ``date`` in a randomly chosen style (weights per language)."""
    weights = languages or DEFAULT_WEIGHTS
    names = list(weights)
    lang = rng.choices(names, weights=[weights[n] for n in names])[0]
    return RENDERERS[lang](rng, date)


def generate_pairs(
    dates: list[dt.date], num: int, seed: int | str, languages: dict[str, float] | None = None
) -> list[Pair]:
    """Renders ``num`` pairs from ``dates``, using each date before reusing any."""
    if num <= 0:
        return []
    if not dates:
        raise ValueError("no dates to render")
    rng = random.Random(seed)
    pool = list(dates)
    rng.shuffle(pool)
    return [
        (render(rng, pool[i % len(pool)], languages), iso(pool[i % len(pool)])) for i in range(num)
    ]


@dataclass(frozen=True)
class DatesOptions(SourceOptions):
    """``data=dates`` settings (also :class:`SourceOptions`).

    Attributes:
        num_samples: total pairs over train + validation + test.
        val_fraction: share of the calendar (and of the pairs) for validation.
        test_fraction: share of the calendar (and of the pairs) for testing.
        seed: generation seed (independent of the training seed, so every run sees the
            same task); the same seed always gives the same splits.
        languages: optional weights of the renderings, e.g. ``{en: 1.0, fr: 0.0,
            numeric: 0.0}``; None = the default mix.
    """

    num_samples: int = 100_000
    val_fraction: float = 0.05
    test_fraction: float = 0.05
    seed: int | None = 0
    languages: dict[str, float] | None = None


@DATA_SOURCES.register("dates")
class DatesSource(DataSource):
    """The built-in task: dates written by people -> ISO ``YYYY-MM-DD``."""

    options = DatesOptions

    @classmethod
    def load(cls, opts: DatesOptions) -> Splits:
        return load_dates(
            opts.num_samples, opts.val_fraction, opts.test_fraction, opts.seed or 0, opts.languages
        )


def load_dates(
    num_samples: int,
    val_fraction: float = DatesOptions.val_fraction,
    test_fraction: float = DatesOptions.test_fraction,
    seed: int = DatesOptions.seed,
    languages: dict[str, float] | None = None,
) -> Splits:
    """Generates the dates task, split disjointly by calendar date.

    Args:
        num_samples: total number of pairs over the three splits.
        val_fraction: share of the calendar (and of the pairs) for validation.
        test_fraction: share of the calendar (and of the pairs) for testing.
        seed: generation seed; the same seed always gives the same splits.
        languages: optional weights for ``en``, ``fr`` and ``numeric`` renderings.

    Returns:
        The train, validation and test pairs.
    """
    if languages:
        unknown = sorted(set(languages) - set(LANGUAGES))
        if unknown:
            raise ValueError(f"unknown date languages {unknown}; choose from {list(LANGUAGES)}")
    calendar = all_dates()
    random.Random(f"dates-split-{seed}").shuffle(calendar)
    n_cal_train, n_cal_val, _ = split_sizes(len(calendar), val_fraction, test_fraction)
    cal = {
        "train": calendar[:n_cal_train],
        "val": calendar[n_cal_train : n_cal_train + n_cal_val],
        "test": calendar[n_cal_train + n_cal_val :],
    }
    n_train, n_val, n_test = split_sizes(num_samples, val_fraction, test_fraction)
    return Splits(
        train=generate_pairs(cal["train"], n_train, f"dates-train-{seed}", languages),
        val=generate_pairs(cal["val"], n_val, f"dates-val-{seed}", languages),
        test=generate_pairs(cal["test"], n_test, f"dates-test-{seed}", languages),
    )


def main(argv: list[str] | None = None) -> None:
    """Prints generated pairs as ``source<TAB>target`` lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--num-samples", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    calendar = all_dates()
    for date in rng.sample(calendar, args.num_samples):
        sys.stdout.write(f"{render(rng, date)}\t{iso(date)}\n")


if __name__ == "__main__":
    main()
