"""Name -> object registries: the extension points of curriclip.

Tasks, pacing functions, weightings, difficulty scorers, metrics, model presets,
experiment presets and dataset sources are each one ``Registry``. An experiment file
and a search space refer to entries by name, so a new entry is usable (and
searchable) the moment its module registers it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from curriclip.errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """A small ordered mapping from names to objects, with helpful lookup errors."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: ``@PACING.register("linear")`` adds the decorated object."""

        def add(obj: T) -> T:
            self.add(name, obj)
            return obj

        return add

    def add(self, name: str, obj: T) -> None:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = obj

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, self.names()) from None

    def names(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


#: Every registry by the plural name ``curriclip list KIND`` uses; filled on import.
ALL: dict[str, Registry] = {}


def new_registry(kind: str, plural: str) -> Registry:
    """Create a registry and make it listable by ``curriclip list``."""
    registry: Registry = Registry(kind)
    ALL[plural] = registry
    return registry
