"""Throughput of the synthetic CXR generator on ONE core.

    python benchmarks/bench_synthetic.py [--n 4096] [--sizes 128 64] [--seed 0]

Prints samples/s per image size for the full ``generate_table`` path (parameters,
rendering, reports, Arrow assembly). Thread pools are capped at one thread before
numpy/torch load and, on Linux, the process is pinned to a single CPU, so the
number is what one trial worker gets. The goal is >= 1,000 samples/s at 128 px.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402

from curriclip.data.synthetic import generate_table  # noqa: E402


def _single_core() -> str:
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # torch is not needed by the generator itself
        pass
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4096, help="samples per measurement")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 64], help="image sizes in px")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()

    print(f"synthetic generator, one core ({_single_core()}), n={args.n}, best of {args.repeats}")
    for size in args.sizes:
        generate_table(256, image_size=size, seed=args.seed)  # warm-up: texture tiles, imports
        best = float("inf")
        for _ in range(args.repeats):
            start = time.perf_counter()
            table = generate_table(args.n, image_size=size, seed=args.seed)
            best = min(best, time.perf_counter() - start)
        mb = table.nbytes / 2**20
        print(f"{size:4d} px: {args.n / best:8,.0f} samples/s  ({best:.2f} s, table {mb:,.0f} MiB)")


if __name__ == "__main__":
    main()
