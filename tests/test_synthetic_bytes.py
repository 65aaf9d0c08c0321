"""The synthetic generator's output, pinned byte for byte.

Why: cached datasets are keyed by ``GENERATOR_VERSION``, so any change to what a seed
generates must bump it; a refactoring must not change a single byte. The hashes below
were recorded from the generator as it was before it became a package (commit 8b91d52)
and cover every column of the table (images, masks, texts, labels, difficulty, ids,
splits, views) plus :func:`render_case` with every finding, severity and side.
"""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pytest

from curriclip.data.synthetic import FINDINGS, GENERATOR_VERSION, SEVERITIES, generate_table, render_case

#: (n, image_size, seed) -> SHA-256 of the table, recorded before the move to a package.
TABLE_HASHES = {
    (64, 64, 0): "94eef50ed8314c3a8defe1315785d5c511d7547a3764897a0579ad8a8cb2f114",
    (64, 64, 3): "d65b04423396d6d06e21e52c031edd833c305c4c2f07d46b99808d5d9fbc5674",
    (32, 128, 0): "81dd35c73108b97b6ff77c59a16116885ebe0fbc187d34fe179c346a85643811",
    (32, 128, 11): "392a4247e66ac39d40b8d47a787b0a0e9aecae27534b1b1891e7b5a41014e4e1",
    # two chunks, a short last one
    (300, 32, 5): "2c432c569f57b47fae51041664231f8a30ffb379f5c5f39a8f1bc201a55abca1",
    # many reports: every line of the report writer runs (hedges, negations, combined phrases)
    (3000, 16, 1): "d16532c57fce4f16a0b6fb5a78361b1572379d7ebb284abd773c91ad6bd1376e",
}
#: SHA-256 over render_case for every finding x severity (and side), recorded likewise.
CASES_HASH = "224957ddc877e21cf773c8b9897a2b70d4fd09625cff2bc36c83afadc12a2848"


def _feed_column(digest: hashlib._Hash, name: str, column: pa.ChunkedArray) -> None:
    """Feeds one column in a canonical form: name, then each value with its length (None as a marker)."""
    digest.update(name.encode() + b"\0")
    for value in column.to_pylist():
        if value is None:
            digest.update(b"\xff")
            continue
        data = value if isinstance(value, bytes) else repr(value).encode()
        digest.update(len(data).to_bytes(8, "little") + data)


def table_hash(table: pa.Table) -> str:
    digest = hashlib.sha256()
    for name in table.column_names:
        _feed_column(digest, name, table[name])
    return digest.hexdigest()


def cases_hash() -> str:
    digest = hashlib.sha256()
    for finding in FINDINGS:
        sides: tuple[str | None, ...] = ("right", "left")
        if finding in ("pleural_effusion", "atelectasis"):
            sides = ("right", "left", "bilateral")
        elif finding in ("cardiomegaly", "edema", "support_devices"):
            sides = (None,)  # no side to choose
        for severity in SEVERITIES:
            for side in sides:
                spec = severity if side is None else (severity, side)
                for view in ("PA", "AP"):
                    case = render_case({finding: spec}, image_size=48, seed=FINDINGS.index(finding), view=view)
                    digest.update(case.image.tobytes() + case.masks.tobytes())
                    digest.update(repr((case.findings, case.impression, case.labels, case.difficulty)).encode())
    everything = {name: "moderate" for name in FINDINGS}
    case = render_case(everything, image_size=64, seed=2)
    digest.update(case.image.tobytes() + case.masks.tobytes())
    digest.update(repr((case.findings, case.impression, case.labels, case.difficulty)).encode())
    return digest.hexdigest()


def test_generator_version_is_unchanged() -> None:
    assert GENERATOR_VERSION == 2


@pytest.mark.parametrize(("n", "image_size", "seed"), sorted(TABLE_HASHES))
def test_table_bytes_are_unchanged(n: int, image_size: int, seed: int) -> None:
    table = generate_table(n, image_size=image_size, seed=seed)
    assert table.num_rows == n
    assert table_hash(table) == TABLE_HASHES[(n, image_size, seed)]


def test_rendered_cases_are_unchanged() -> None:
    assert cases_hash() == CASES_HASH
