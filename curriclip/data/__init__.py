"""Data: the Arrow schema, dataset sources (synthetic benchmark, directories), sparsity subsets, loading."""

from curriclip.data.schema import DEFAULT_LABEL_NAMES, SCHEMA, SCHEMA_VERSION, SPLITS

__all__ = ["DEFAULT_LABEL_NAMES", "SCHEMA", "SCHEMA_VERSION", "SPLITS"]
