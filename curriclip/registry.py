"""Name -> object registries: the extension points of curriclip.

Tasks, pacing functions, weightings, difficulty scorers, metrics, model presets,
experiment presets, data sources and ingesters are each one ``Registry``, and every
entry is registered the same way: one line in the registry's package, naming the
object by its import path::

    TASKS.lazy("rotation", "curriclip.tasks.rotation:Rotation")

The entry's module is imported the first time the entry is looked up, so the names
(what the experiment file is validated against) are known without importing torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from curriclip.errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """An ordered mapping from names to lazily imported objects, with helpful lookup errors.

    ``make`` turns the imported object into the registered one, once (tasks register a
    class and are looked up as an instance).
    """

    def __init__(self, kind: str, plural: str, make: Callable[[Any], T] | None = None) -> None:
        self.kind = kind
        self.plural = plural
        self._make = make
        self._targets: dict[str, str] = {}
        self._resolved: dict[str, T] = {}
        ALL[plural] = self

    def lazy(self, name: str, target: str) -> None:
        """Register ``name`` as the object at ``target`` ("package.module:attribute")."""
        if name in self._targets:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        if target.count(":") != 1:
            raise ValueError(f"{self.kind} {name!r}: target {target!r} is not 'module:attribute'")
        self._targets[name] = target

    def get(self, name: str) -> T:
        """The entry ``name``, imported on first use (``UnknownNameError`` lists the known names)."""
        if name in self._resolved:
            return self._resolved[name]
        try:
            target = self._targets[name]
        except (KeyError, TypeError):
            raise UnknownNameError(self.kind, str(name), self.names()) from None
        module, attribute = target.split(":")
        obj: Any = getattr(importlib.import_module(module), attribute)
        entry = self._make(obj) if self._make is not None else obj
        self._resolved[name] = entry
        return entry

    def target(self, name: str) -> str:
        """Where the entry lives ("module:attribute"), without importing it."""
        self.check(name)
        return self._targets[name]

    def check(self, name: str) -> str:
        """``name`` when it is registered, else ``UnknownNameError`` (imports nothing)."""
        if name not in self._targets:
            raise UnknownNameError(self.kind, str(name), self.names())
        return name

    def names(self) -> list[str]:
        return list(self._targets)

    def items(self) -> Iterator[tuple[str, T]]:
        """Every (name, entry), importing each."""
        for name in self._targets:
            yield name, self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._targets

    def __iter__(self) -> Iterator[str]:
        return iter(self._targets)

    def __len__(self) -> int:
        return len(self._targets)


#: Every registry by the plural name ``curriclip list KIND`` uses; filled as registries are created.
ALL: dict[str, Registry] = {}

#: The packages that declare registries; importing them fills ``ALL`` (cheaply: entries are lazy).
REGISTRY_PACKAGES = (
    "curriclip.tasks",
    "curriclip.curriculum.pacing",
    "curriclip.curriculum.scorers",
    "curriclip.weighting",
    "curriclip.metrics",
    "curriclip.models.presets",
    "curriclip.presets",
    "curriclip.data.sources",
    "curriclip.data.ingest",
    "curriclip.taskmap",
    "curriclip.reports.figures",
    "curriclip.reports.sections",
)


def all_registries() -> dict[str, Registry]:
    """Every registry, after importing the packages that declare them (neither torch nor Ray is imported)."""
    for package in REGISTRY_PACKAGES:
        importlib.import_module(package)
    return ALL
