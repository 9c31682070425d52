"""One way to extend: a small registry per kind of part, each named by a config key.

Model families, encoders, bridges, search rules and data sources are each a
:class:`Registry`. A new entry is a class decorated with ``@REGISTRY.register("<name>")``
in a module of the kind's package (every module there is imported, so registering is all it
takes). An entry that has settings owns their defaults as a frozen dataclass; Hydra's
config group for the kind (``configs/model/``, ``configs/data/``, ``configs/decoding/``)
picks those defaults up from the ConfigStore (see :func:`seq2seq.cli.register_configs`)
instead of repeating them.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import pkgutil
import typing
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from seq2seq.errors import Seq2SeqError

T = TypeVar("T", bound=type)


class Registry(Generic[T]):
    """Names -> registered classes of one kind.

    Args:
        kind: what the entries are, for messages (``"model family"``).
        key: the config key that names an entry (``"model.name"``).
        declared: for a kind whose entries import TensorFlow, each name's settings record,
            declared in a module without TensorFlow (see :mod:`seq2seq.options`); an entry
            is then refused unless its ``record`` attribute is the one declared for its name.
        record: the entries' attribute holding their settings record.
        declared_in: where ``declared`` is written, for the refusal's message.
    """

    def __init__(
        self,
        kind: str,
        key: str,
        declared: dict[str, type] | None = None,
        record: str = "options",
        declared_in: str = "",
    ) -> None:
        self.kind, self.key = kind, key
        self._declared, self._record, self._declared_in = declared, record, declared_in
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Class decorator: makes the class available as ``<key>=<name>``."""

        def add(cls: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._check_declared(name, cls)
            cls.name = name
            self._entries[name] = cls
            return cls

        return add

    def _check_declared(self, name: str, cls: type) -> None:
        if self._declared is None:
            return
        if self._declared.get(name) is not getattr(cls, self._record, None):
            raise ValueError(
                f"{self.kind} {name!r}: declare its {self._record} record under that name in"
                f" {self._declared_in} (Hydra's configs are built from there, without TensorFlow)"
            )

    def unregister(self, name: str) -> None:
        """Removes an entry (for tests that register a temporary one)."""
        self._entries.pop(name, None)

    def get(self, name: str) -> T:
        """The entry registered as ``name``.

        Raises:
            Seq2SeqError: no entry has that name (the message lists the known ones).
        """
        if name not in self._entries:
            raise Seq2SeqError(f"{self.key}={name!r} is unknown; choose one of {self.names()}")
        return self._entries[name]

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._entries)

    def items(self) -> list[tuple[str, T]]:
        """``(name, class)`` pairs, sorted by name."""
        return sorted(self._entries.items())

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[T]:
        return iter([cls for _, cls in self.items()])

    def __len__(self) -> int:
        return len(self._entries)


def import_modules(package: str, path: list[str], skip: tuple[str, ...] = ()) -> None:
    """Imports every module of ``package`` (so their ``@register`` decorators run)."""
    for module in pkgutil.iter_modules(path):
        if module.name not in skip:
            importlib.import_module(f"{package}.{module.name}")


def option_defaults(options: type) -> dict[str, Any]:
    """The defaults of a settings dataclass, as a plain dict (its config node; a required
    setting, such as a file path, defaults to None)."""
    return {f.name: f.default for f in dataclasses.fields(options)}


def typed_values(options: type, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with each number in its field's declared type, as the boundary (a config
    file, an override, a JSON request) may spell it: ``2.0`` for a whole-number setting is
    ``2``, ``1`` for a real-number setting is ``1.0``. Anything else is left for the record's
    own checks to refuse (``2.5`` for a whole number, a string, a boolean)."""
    declared = number_kinds(options)
    typed = dict(values)
    for name, value in values.items():
        kind = declared.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if kind is int and isinstance(value, float) and value.is_integer():
            typed[name] = int(value)
        elif kind is float and isinstance(value, int):
            typed[name] = float(value)
    return typed


@functools.cache  # per record: the service types every request's settings
def number_kinds(options: type) -> dict[str, type]:
    """The fields of a settings dataclass declared as a number (``int``, ``float``, either
    optional), and which, from the resolved annotations (strings or types alike)."""
    hints = typing.get_type_hints(options)
    found = {}
    for f in dataclasses.fields(options):
        kinds = [t for t in typing.get_args(hints[f.name]) if t is not type(None)]
        kind = kinds[0] if len(kinds) == 1 else hints[f.name]
        if kind in (int, float):
            found[f.name] = kind
    return found


def make_options(options: type, key: str, values: dict[str, Any]) -> Any:
    """``options(**values)`` with each number in its declared type (:func:`typed_values`);
    an unknown key is a one-line error naming ``key.<name>``.

    Raises:
        Seq2SeqError: a key the dataclass does not have (and its own value checks).
    """
    known = {f.name for f in dataclasses.fields(options)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise Seq2SeqError(
            f"{key}.{unknown[0]} is not a setting here; known: {', '.join(sorted(known))}"
        )
    return options(**typed_values(options, values))
