"""Reading the tabular side files of a source, with errors that name the file and column."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from curriclip.errors import DataError


def read_table(path: Path, required: list[str], what: str) -> pd.DataFrame:
    """A CSV (optionally .gz) or Parquet file with the ``required`` columns, read as strings where ids."""
    if not path.is_file():
        raise DataError(f"{path}: {what} not found")
    try:
        if path.suffix == ".parquet":
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, dtype=str, keep_default_na=True)
    except UnicodeDecodeError:
        raise DataError(f"{path}: {_first_non_utf8(path)}; re-save the {what} as UTF-8") from None
    except Exception as exc:  # noqa: BLE001 - pandas raises many parser errors
        raise DataError(f"{path}: cannot read {what} ({type(exc).__name__})") from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)} (has: {', '.join(map(str, df.columns))})")
    return df


def _first_non_utf8(path: Path) -> str:
    """Where a table stops being UTF-8: "line N: not UTF-8 (byte 0xXX)" (pandas' own offset is per chunk)."""
    import gzip

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return f"line {line}: not UTF-8 (byte 0x{data[exc.start]:02x})"
    return "not UTF-8"


def to_label(value: object) -> float | None:
    """A CheXpert-encoded cell: '1.0' -> 1.0, '' / NaN -> None, anything else kept for validation to flag."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = str(value).strip()
    if text == "" or text.lower() == "nan":
        return None
    try:
        return float(text)
    except ValueError:
        return float("inf")  # not a number: validation reports it as an unknown label value
