"""Search spaces: what to try, turned into trial configs (Optuna define-by-run)."""

from curriclip.spaces.permutations import lehmer_decode, lehmer_encode, random_keys_decode
from curriclip.spaces.space import (
    CurriculumSpace,
    baseline_configs,
    baseline_lrs,
    configs_per_level,
    curriculum_trials,
    matched_points,
    random_population,
    search_baselines,
    sparsity_grid,
)

__all__ = [
    "CurriculumSpace",
    "baseline_configs",
    "baseline_lrs",
    "configs_per_level",
    "curriculum_trials",
    "lehmer_decode",
    "lehmer_encode",
    "matched_points",
    "random_keys_decode",
    "random_population",
    "search_baselines",
    "sparsity_grid",
]
