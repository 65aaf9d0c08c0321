"""Search: Ray Tune's Tuner driven by the curriculum searcher, arm-aware ASHA, export and resume."""

from curriclip.search.runner import SearchOutcome, read_run, resume_search, run_search

__all__ = ["SearchOutcome", "read_run", "resume_search", "run_search"]
