import numpy as np
import pytest

from curriclip.data.subsets import sparsity_subset


def _subjects(n_subjects=300, seed=0):
    rng = np.random.default_rng(seed)
    return np.repeat([f"p{i}" for i in range(n_subjects)], rng.integers(1, 4, n_subjects))


def test_nested_per_patient_and_sized():
    subjects = _subjects()
    levels = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0]
    sets = [set(sparsity_subset(subjects, f, seed=3)) for f in levels]
    for small, big in zip(sets, sets[1:]):
        assert small <= big
    assert len(sets[-1]) == len(subjects)
    for level, kept in zip(levels, sets):
        assert abs(len(kept) - level * len(subjects)) <= 3  # whole subjects of at most 3 studies
        kept_subjects = set(subjects[list(kept)])
        # whole patients: every row of a kept subject is kept
        assert all(i in kept for i, s in enumerate(subjects) if s in kept_subjects)


def test_deterministic_and_seed_dependent():
    subjects = _subjects()
    a = sparsity_subset(subjects, 0.1, seed=0)
    assert np.array_equal(a, sparsity_subset(subjects, 0.1, seed=0))
    assert not np.array_equal(a, sparsity_subset(subjects, 0.1, seed=1))
    # independent of row order
    perm = np.random.default_rng(1).permutation(len(subjects))
    b = sparsity_subset(subjects[perm], 0.1, seed=0)
    assert set(subjects[perm][b]) == set(subjects[a])


def test_rejects_bad_fraction():
    with pytest.raises(ValueError, match="sparsity fraction"):
        sparsity_subset(["p1"], 0.0)


def test_stratified_levels_keep_rare_findings_in_proportion():
    rng = np.random.default_rng(0)
    n = 2000
    subjects = np.array([f"p{i}" for i in range(n)])
    labels = np.zeros((n, 3))
    labels[rng.random(n) < 0.05, 0] = 1  # rare finding
    labels[rng.random(n) < 0.30, 1] = 1
    for level in (0.1, 0.2, 0.5):
        kept = sparsity_subset(subjects, level, seed=0, labels=labels)
        rare = labels[kept, 0].sum()
        expected = labels[:, 0].sum() * level
        assert abs(rare - expected) <= 1.5, (level, rare, expected)
    small = set(sparsity_subset(subjects, 0.1, seed=0, labels=labels))
    assert small <= set(sparsity_subset(subjects, 0.2, seed=0, labels=labels))


def test_label_subset_mask_is_nested_and_sized():
    from curriclip.data.subsets import label_subset_mask

    subjects = _subjects()
    a = label_subset_mask(subjects, 0.2, seed=1)
    b = label_subset_mask(subjects, 0.6, seed=1)
    assert not (a & ~b).any()
    assert abs(a.sum() - 0.2 * len(subjects)) <= 3
