"""Keep every warm trial process while a synchronous search holds its next proposal back.

Ray Tune's actor reuse caches the process of an ended trial only while another trial
is waiting for its resources, plus one process it keeps speculatively
(``_ObjectCache(may_keep_one=True)`` in ``ray.tune.execution.tune_controller``). A
synchronous search (``protocol.synchronous``) holds a proposal back until the one a
window earlier has been told, so while it waits no trial is waiting for resources: the
first process to finish is kept, every other one is torn down, and the next trials start
them again (about 8 s of imports each on 2 cores). ``keep_idle_processes(n)`` lets Tune
keep up to ``n`` idle processes while the search runs; at its end Tune evicts them all.

It swaps a private Ray class for the duration of one ``Tuner.fit``. Where Ray's
internals are not what it expects (another Ray version), it leaves Ray alone and says
so once: the search is then only slower, never different. ``CURRICLIP_KEEP_IDLE_PROCESSES=0``
leaves Ray's own rule in place (the benchmark's "warm" mode).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import Iterator

logger = logging.getLogger(__name__)

#: Environment switch: "0" keeps Ray's rule (one idle process at most).
KEEP_IDLE_ENV = "CURRICLIP_KEEP_IDLE_PROCESSES"
#: What the swap relies on: the controller module's name for the cache class and the cache's own fields.
_EXPECTED_FIELDS = ("_cached_objects", "_max_num_objects", "_num_cached_objects")


def idle_cache_class(base: type, keep: int) -> type:
    """``base`` (Ray's ``_ObjectCache``) keeping up to ``keep`` idle objects when no other resource shape waits.

    Ray's rule stays for every other case: an object is cached when a trial of its
    resource shape is staged, and while trials of another shape are staged the idle
    ones are evicted, so an idle process never holds resources that a waiting trial
    of a different shape needs.
    """

    class KeepIdle(base):  # type: ignore[misc, valid-type]
        def _other_shape_waits(self, key) -> bool:
            return any(count > 0 for other, count in self._max_num_objects.items() if other != key)

        def cache_object(self, key, obj) -> bool:
            if self._num_cached_objects < keep and not self._other_shape_waits(key):
                self._cached_objects[key].append(obj)
                self._num_cached_objects += 1
                return True
            return super().cache_object(key, obj)

        def flush_cached_objects(self, force_all: bool = False) -> Iterator:
            if force_all or any(self._other_shape_waits(key) for key, objs in self._cached_objects.items() if objs):
                yield from super().flush_cached_objects(force_all=force_all)
                return
            for key, objs in self._cached_objects.items():
                while len(objs) > self._max_num_objects[key] and self._num_cached_objects > keep:
                    self._num_cached_objects -= 1
                    yield objs.pop(0)

    KeepIdle.__name__ = KeepIdle.__qualname__ = f"KeepIdle{keep}"
    return KeepIdle


@functools.cache
def _warn_unexpected_cache() -> None:
    """Said once per process: the search runs, only without the kept processes."""
    logger.warning("curriclip: this Ray's actor cache is not the expected one; idle processes are not kept")


@contextlib.contextmanager
def keep_idle_processes(keep: int) -> Iterator[bool]:
    """Within this block, a Tune run keeps up to ``keep`` idle trial processes; yields whether it could."""
    if os.environ.get(KEEP_IDLE_ENV, "1") == "0":
        keep = 0
    if keep < 2:
        yield False
        return
    try:  # Ray's internals, as far as the swap relies on them; any change disables the swap, never the search
        from ray.tune.execution import tune_controller

        base = getattr(tune_controller, "_ObjectCache", None)
        probe = base() if isinstance(base, type) else None
        expected = probe is not None and all(hasattr(probe, f) for f in _EXPECTED_FIELDS)
    except Exception:  # noqa: BLE001 - whatever another Ray version raises here
        expected = False
    if not expected:
        _warn_unexpected_cache()
        yield False
        return
    tune_controller._ObjectCache = idle_cache_class(base, keep)
    try:
        yield True
    finally:
        tune_controller._ObjectCache = base
