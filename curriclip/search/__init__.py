"""Search phase: Ray Tune's Tuner driven by the curriculum searcher and per-(arm, level) schedulers, and its resume.

It ranks configurations on ``validate`` only; the confirm phase (``curriclip.protocol``)
and the report (``curriclip.reports``) follow in ``curriclip.pipeline``.
"""

from curriclip.search.runner import SearchPlan, plan_search_phase, resume_search_phase, run_search_phase

__all__ = ["SearchPlan", "plan_search_phase", "resume_search_phase", "run_search_phase"]
