"""Search spaces: what to try, turned into trial configs (Optuna define-by-run)."""

from curriclip.spaces.permutations import lehmer_decode, lehmer_encode, random_keys_decode
from curriclip.spaces.space import (
    CurriculumSpace,
    random_population,
    shuffled_control_configs,
    single_task_configs,
    sparsity_grid,
)

__all__ = [
    "CurriculumSpace",
    "lehmer_decode",
    "lehmer_encode",
    "random_keys_decode",
    "random_population",
    "shuffled_control_configs",
    "single_task_configs",
    "sparsity_grid",
]
