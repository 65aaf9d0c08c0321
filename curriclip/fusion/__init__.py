"""Fusion of a search's best trials (BRATS): hierarchical majority vote or STAPLE, Dice per region, embeddings.

For the report: ``report_section(run_dir)`` returns the data of a "Fusion" section (None
when the run has no ``fusion.parquet``) and ``draw(section)`` its Plotly figure, so the
reports package adds the section with one line.
"""

from curriclip.fusion.report import draw, report_section

__all__ = ["draw", "report_section"]
