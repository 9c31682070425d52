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
import importlib
import pkgutil
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from seq2seq.errors import Seq2SeqError

T = TypeVar("T", bound=type)


class Registry(Generic[T]):
    """Names -> registered classes of one kind.

    Args:
        kind: what the entries are, for messages (``"model family"``).
        key: the config key that names an entry (``"model.name"``).
    """

    def __init__(self, kind: str, key: str) -> None:
        self.kind, self.key = kind, key
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Class decorator: makes the class available as ``<key>=<name>``."""

        def add(cls: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            cls.name = name
            self._entries[name] = cls
            return cls

        return add

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


def make_options(options: type, key: str, values: dict[str, Any]) -> Any:
    """``options(**values)``; an unknown key is a one-line error naming ``key.<name>``.

    Raises:
        Seq2SeqError: a key the dataclass does not have (and its own value checks).
    """
    known = {f.name for f in dataclasses.fields(options)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise Seq2SeqError(
            f"{key}.{unknown[0]} is not a setting here; known: {', '.join(sorted(known))}"
        )
    return options(**values)
