"""Starting or joining Ray, and order-preserving parallel maps: curriclip's one door to a Ray cluster.

The search and the ingest both need a Ray instance; both come through ``init_ray`` so a
local run never attaches silently to a stale cluster and a cluster run honours
``--address`` / ``RAY_ADDRESS`` the same way. Lower layers (data) reach Ray only through
``ordered_map_batches`` and never import it themselves.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from curriclip.errors import CurriclipError

#: Seconds a cluster address has to accept a connection before a search refuses it (Ray itself retries for minutes).
REACH_DEADLINE_S = 10.0


def check_reachable(address: str | None, deadline_s: float = REACH_DEADLINE_S) -> None:
    """Refuse, within ``deadline_s``, a ``HOST:PORT`` (or ``ray://HOST:PORT``) cluster address nothing answers at.

    ``auto``, ``local`` and no address are Ray's to resolve (they fail fast on their own).
    """
    import socket

    address = address or os.environ.get("RAY_ADDRESS")
    if not address or address in ("auto", "local"):
        return
    option = "--address" if address != os.environ.get("RAY_ADDRESS") else "RAY_ADDRESS"
    host, sep, port = address.split("://", 1)[-1].rstrip("/").rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise CurriclipError(f"{option} {address}: expected HOST:PORT (or auto)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=deadline_s).close()
    except OSError as exc:
        reason = "no answer" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise CurriclipError(
            f"{option} {address}: no Ray cluster reachable there within {deadline_s:g} s ({reason})"
        ) from None


def init_ray(address: str | None = None) -> None:
    """Join ``address`` (or ``RAY_ADDRESS``, set by ``ray job submit``), else start a local Ray; no-op if running."""
    import ray

    if ray.is_initialized():
        return
    check_reachable(address)
    os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")
    # Each trial keeps one checkpoint, which forces a state snapshot per epoch: expected, not a bottleneck here.
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    kwargs = dict(include_dashboard=False, configure_logging=True, logging_level="WARNING", log_to_driver=True)
    # Without an address start a local Ray: never attach silently to a cluster that some earlier
    # `ray start` on this machine left behind (or that has died since).
    address = address or os.environ.get("RAY_ADDRESS") or "local"
    try:
        ray.init(address=address, **kwargs)
    except ConnectionError as exc:
        raise CurriclipError(f"--address {address}: cannot connect to a Ray cluster ({exc})") from None


def ordered_map_batches(
    items: list[dict[str, Any]], fn: Callable[..., dict], batch_size: int, **fn_kwargs: Any
) -> Iterator[dict[str, Any]]:
    """``fn`` over ``items`` in batches with Ray Data, yielding numpy batches in input order.

    Each item needs an ``index`` (its position); a batch that arrives out of order is an error,
    not a silent reordering of images against their reports.
    """
    import ray

    init_ray()
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ctx.enable_progress_bars = False
    dataset = ray.data.from_items(items).map_batches(fn, fn_kwargs=fn_kwargs, batch_size=batch_size)
    expected = 0
    for batch in dataset.iter_batches(batch_size=batch_size, batch_format="numpy"):
        index = batch["index"]
        if index[0] != expected:
            raise RuntimeError("Ray Data returned batches out of order")
        expected = int(index[-1]) + 1
        yield batch
