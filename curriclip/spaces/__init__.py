"""Search spaces: what to try, turned into trial configs (Optuna define-by-run)."""

from curriclip.spaces.permutations import lehmer_decode, lehmer_encode
from curriclip.spaces.space import CurriculumSpace, single_task_configs, sparsity_grid

__all__ = ["CurriculumSpace", "lehmer_decode", "lehmer_encode", "single_task_configs", "sparsity_grid"]
