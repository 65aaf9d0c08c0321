"""Fusion of a search's best trials (BRATS): hierarchical majority vote or STAPLE, Dice per region, embeddings.

``curriclip fuse`` (``run.fuse_run``) writes ``fusion.parquet`` and its summary ``fusion.json``
(``summary``), which the report's Fusion section reads.
"""
