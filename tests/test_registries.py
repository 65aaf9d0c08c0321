"""Every entry of every registry keeps its registry's contract: a new entry is tested the moment it is registered.

``CONTRACTS`` has one check per registry kind; a registry without a check fails
``test_every_registry_has_a_contract``, so a new kind of extension point cannot slip in untested.
"""

from __future__ import annotations

import inspect
import math
import subprocess
import sys

import pytest

from curriclip.registry import ALL, all_registries


def _task(name, task):
    from curriclip.data.loader import BATCH_COLUMNS
    from curriclip.tasks.base import Task

    assert isinstance(task, Task) and task.name == name
    unknown = set(task.needs) - set(BATCH_COLUMNS)  # every need is a batch column the loader knows how to fill
    assert task.needs and not unknown, f"{name} needs unknown columns {unknown}"
    assert type(task).loss is not Task.loss, f"task {name} implements no loss"
    assert task.description


def _pacing(name, fn):
    from curriclip.curriculum.pacing import PacingFunction

    assert isinstance(fn, PacingFunction)  # named by its registry line only
    total = 200
    values = [fn(step, total) for step in range(total + 1)]
    assert all(0 < v <= 1 for v in values), f"{name}: fraction outside (0, 1]"
    assert all(b >= a - 1e-12 for a, b in zip(values, values[1:])), f"{name}: fraction decreases"
    assert values[-1] == pytest.approx(1.0), f"{name}: does not reach the whole pool"
    for param, spec in fn.params.items():
        assert spec.low <= spec.default <= spec.high, f"{name}.{param}: default outside its search range"


def _scorer(name, spec):
    from curriclip.curriculum.scorers import ScorerSpec

    assert isinstance(spec, ScorerSpec) and spec.name == name and spec.description
    assert callable(getattr(spec.load(), "score", None)), f"scorer {name} has no score()"
    for param, r in spec.params.items():
        assert r.low <= r.default <= r.high, f"{name}.{param}: default outside its search range"


def _weighting(name, cls):
    import torch

    from curriclip.weighting.base import Weighting

    assert issubclass(cls, Weighting) and cls.name == name
    theta = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    losses = {"a": (theta**2).sum(), "b": (theta - 1).abs().sum()}
    cls(["a", "b"], steps_per_epoch=2).backward(losses, {"a": 1.0, "b": 1.0}, shared=[theta])
    assert theta.grad is not None and torch.isfinite(theta.grad).all()


def _metric(name, metric):
    """Declared inputs and keys; a metric of embeddings alone is computed on toy embeddings: declared keys, finite."""
    import torch

    from curriclip.metrics.spec import INPUTS, EvalInputs, Metric

    assert isinstance(metric, Metric) and metric.keys and metric.description and set(metric.inputs) <= set(INPUTS)
    if set(metric.inputs) != {"embeddings"}:
        return
    generator = torch.Generator().manual_seed(0)
    images = torch.nn.functional.normalize(torch.randn(16, 8, generator=generator), dim=-1)
    texts = torch.nn.functional.normalize(images + 0.5 * torch.randn(16, 8, generator=generator), dim=-1)
    out = metric.compute(EvalInputs(n_resamples=20, images=images, texts=texts, positives=torch.eye(16, dtype=bool)))
    assert out and set(out) <= set(metric.keys), f"metric {name} reports undeclared keys {set(out) - set(metric.keys)}"
    assert all(math.isfinite(float(value)) for value in out.values()), out


def _task_family(name, family):
    """A TaCo task family makes (input, target) pairs of the images' shape in [0, 1], deterministically."""
    import torch

    from curriclip.taskmap.families import CATEGORIES, Family

    assert isinstance(family, Family) and family.name == name and family.category in CATEGORIES
    images = torch.rand(4, 32, 32, generator=torch.Generator().manual_seed(0))  # (B, H, W) in [0, 1]
    masks = torch.zeros(4, 3, 32, 32)
    masks[:, :, 8:20, 10:24] = 1.0
    strength = sum(family.strength) / 2
    first = family.pairs(images, masks, strength, torch.Generator().manual_seed(1))
    again = family.pairs(images, masks, strength, torch.Generator().manual_seed(1))
    for made, repeat in zip(first, again):
        assert made.shape[0] == 4 and made.shape[-2:] == (32, 32) and 0 <= made.min() and made.max() <= 1
        assert torch.equal(made, repeat), f"family {name} is not deterministic given its generator"


def _model_preset(name, preset):
    from curriclip.models.presets import ModelPreset, known_architecture

    assert isinstance(preset, ModelPreset) and preset.name == name
    assert known_architecture(preset.open_clip_name) and preset.image_size > 0 and preset.description


def _experiment_preset(name, overrides):
    from curriclip.presets import preset_experiment

    experiment = preset_experiment(name)
    assert experiment.name == overrides.get("name", name)


def _source(name, fn):
    assert callable(fn) and "path" in inspect.signature(fn).parameters, f"source {name} must accept path="


def _ingester(name, fn):
    assert callable(fn) and inspect.signature(fn).parameters, f"ingester {name} takes no options"


def _report_figure(name, figure):
    """A report figure builds plain data and draws it; with nothing to show it still draws (an empty figure)."""
    import plotly.graph_objects as go

    from curriclip.reports.figures import FigureSpec

    assert isinstance(figure, FigureSpec) and figure.title and callable(figure.data)
    assert isinstance(figure.draw(None), go.Figure)


def _report_section(name, section):
    from curriclip.reports.sections import Section

    assert isinstance(section, Section) and section.id and section.nav and section.title and callable(section.blocks)


CONTRACTS = {
    "tasks": _task,
    "pacing": _pacing,
    "scorers": _scorer,
    "weightings": _weighting,
    "metrics": _metric,
    "presets": _model_preset,
    "experiments": _experiment_preset,
    "sources": _source,
    "ingesters": _ingester,
    "task_families": _task_family,
    "figures": _report_figure,
    "sections": _report_section,
}

ENTRIES = [(kind, name) for kind, registry in all_registries().items() for name in registry.names()]


def test_every_registry_has_a_contract():
    assert set(ALL) <= set(CONTRACTS), f"registries without a contract check: {set(ALL) - set(CONTRACTS)}"
    assert all(len(registry) for registry in ALL.values())


@pytest.mark.parametrize(("kind", "name"), ENTRIES, ids=[f"{k}:{n}" for k, n in ENTRIES])
def test_entry_keeps_its_contract(kind, name):
    CONTRACTS[kind](name, ALL[kind].get(name))


def test_unknown_name_lists_the_known_ones():
    from curriclip.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match=r"unknown task 'nope' \(known: itc, "):
        ALL["tasks"].get("nope")


def test_registering_twice_or_without_a_target_fails():
    from curriclip.registry import Registry

    registry = Registry("thing", "things-under-test")
    try:
        registry.lazy("a", "math:pi")
        assert registry.get("a") == math.pi
        with pytest.raises(ValueError, match="registered twice"):
            registry.lazy("a", "math:e")
        with pytest.raises(ValueError, match="not 'module:attribute'"):
            registry.lazy("b", "math.pi")
    finally:
        ALL.pop("things-under-test")


@pytest.mark.parametrize(
    ("code", "heavy"),
    [
        # the contract sits at the bottom: validating an experiment loads no heavy layer at all
        (
            "import curriclip.config as c; c.parse_experiment({'space': {'tasks': ['rotation'], 'scorer': "
            "['self_paced']}, 'model': 'ViT-B-32'})",
            ("torch", "open_clip", "ray", "plotly", "optuna", "numpy"),
        ),
        # listing every registry (curriclip list) imports no entry's module: neither torch nor Ray
        ("import curriclip.registry as r; r.all_registries()", ("torch", "open_clip", "ray", "optuna")),
    ],
)
def test_catalogs_import_no_heavy_layer(code, heavy):
    probe = f"import sys; {code}; print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == ""
