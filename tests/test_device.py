"""Device, precision and GPU resources: what a trial computes on, and the errors when a GPU is missing.

No GPU is needed: CUDA capabilities are faked with monkeypatch where a choice depends on
them, and the fp16 loss-scaling mechanics run on the CPU's GradScaler.
"""

from __future__ import annotations

import contextlib

import pytest
import torch
from conftest import tiny_trial
from torch import nn

from curriclip.config import TrialConfig, parse_experiment
from curriclip.errors import ConfigError, DataError
from curriclip.trainables import run_trial
from curriclip.trainables.device import Compute, resolve_precision, select_device, set_tf32

CPU, CUDA = torch.device("cpu"), torch.device("cuda", 0)


def _cfg(tmp_path, **overrides) -> TrialConfig:
    return TrialConfig.model_validate(tiny_trial(tmp_path, **overrides))


@pytest.fixture
def fake_cuda(monkeypatch):
    """A CUDA 'GPU' for decisions only: availability, bf16 support, and the memory cap are recorded, not applied."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # what Compute sets on CUDA; removed afterwards
    capability = {"bf16": True}
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: capability["bf16"])
    fractions = []
    monkeypatch.setattr(torch.cuda, "set_per_process_memory_fraction", lambda f, d=None: fractions.append((f, d)))
    matmul = torch.backends.cuda.matmul.fp32_precision
    conv = torch.backends.cudnn.conv.fp32_precision
    yield capability, fractions
    torch.backends.cuda.matmul.fp32_precision = matmul  # set_tf32 changed process-wide flags
    torch.backends.cudnn.conv.fp32_precision = conv


def test_cpu_trial_computes_as_before(tmp_path):
    compute = Compute.for_trial(_cfg(tmp_path, device="cpu"), CPU)  # every compute default (precision auto, ...)
    assert compute.precision == "fp32" and compute.dtype is None and compute.scaler is None
    assert not compute.pin_memory and not compute.channels_last and not compute.compile
    assert isinstance(compute.autocast(), contextlib.nullcontext)
    losses = {"itc": torch.tensor(2.0, requires_grad=True)}
    assert compute.scaled(losses) is losses
    x = torch.arange(6, dtype=torch.uint8).reshape(2, 3)
    assert compute.to_device(x) is x  # the same tensor: no copy, no pinning
    assert compute.state_dict() == {}
    assert resolve_precision("auto", CPU) == resolve_precision("fp32", CPU) == "fp32"


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_missing_gpu_is_a_clear_error(tiny_dataset):
    assert select_device("auto") == CPU
    with pytest.raises(DataError, match="'cuda' requested but no CUDA GPU is visible"):
        select_device("cuda")
    with pytest.raises(DataError, match="no CUDA GPU is visible"):  # before any data or model is built
        run_trial(TrialConfig.model_validate(tiny_trial(tiny_dataset, device="cuda")), lambda m, s: None)
    with pytest.raises(ConfigError, match="precision 'bf16' needs a CUDA GPU; this trial runs on cpu"):
        resolve_precision("bf16", CPU)


def test_precision_on_a_bf16_gpu(fake_cuda, tmp_path):
    _, fractions = fake_cuda
    assert select_device("auto") == torch.device("cuda")
    assert resolve_precision("auto", CUDA) == "bf16"
    compute = Compute.for_trial(_cfg(tmp_path, device="auto", gpu_memory_fraction=0.25), CUDA)
    assert compute.precision == "bf16" and compute.scaler is None  # bf16 has fp32's range: no loss scaling
    ctx = compute.autocast()
    assert isinstance(ctx, torch.autocast) and ctx.fast_dtype == torch.bfloat16 and ctx.device == "cuda"
    assert compute.pin_memory  # pinned host batches on CUDA (default on)
    assert fractions == [(0.25, 0)]  # a quarter GPU: a quarter of its memory (of GPU 0, the trial's)
    assert torch.backends.cuda.matmul.fp32_precision == "tf32"  # tf32 defaults on
    Compute.for_trial(_cfg(tmp_path, device="auto", tf32=False, pin_memory=False), CUDA)
    assert torch.backends.cuda.matmul.fp32_precision == "ieee" and fractions == [(0.25, 0)]  # no cap: none set


def test_precision_on_a_gpu_without_bf16(fake_cuda, tmp_path):
    capability, _ = fake_cuda
    capability["bf16"] = False
    assert resolve_precision("auto", CUDA) == "fp16"
    compute = Compute.for_trial(_cfg(tmp_path, device="auto"), CUDA)
    assert compute.precision == "fp16" and isinstance(compute.scaler, torch.amp.GradScaler)  # fp16 only
    assert compute.autocast().fast_dtype == torch.float16
    assert Compute.for_trial(_cfg(tmp_path, device="auto", precision="fp32"), CUDA).autocast().__class__ is (
        contextlib.nullcontext
    )
    with pytest.raises(ConfigError, match="does not support bfloat16"):
        resolve_precision("bf16", CUDA)


def test_fp16_loss_scaling_scales_gradients_not_losses():
    """The fp16 path's mechanics on the CPU GradScaler: losses keep their values, steps match fp32 ones."""
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    reference = nn.Linear(4, 1)
    reference.load_state_dict(model.state_dict())
    x = torch.randn(8, 4)
    compute = Compute(device=CPU, precision="fp16", scaler=torch.amp.GradScaler("cpu", init_scale=1024.0))
    loss = model(x).pow(2).mean()
    scaled = compute.scaled({"mse": loss})
    assert scaled["mse"].item() == loss.item()  # weighting strategies see the true loss
    scaled["mse"].backward()
    reference(x).pow(2).mean().backward()
    assert torch.allclose(model.weight.grad, 1024.0 * reference.weight.grad)
    opt, ref_opt = torch.optim.SGD(model.parameters(), lr=0.1), torch.optim.SGD(reference.parameters(), lr=0.1)
    compute.step(opt)
    ref_opt.step()
    assert torch.allclose(model.weight, reference.weight, atol=1e-7)
    # an overflowing gradient skips the step and halves the scale
    before = model.weight.detach().clone()
    model.weight.grad = torch.full_like(model.weight, float("inf"))
    compute.step(opt)
    assert torch.equal(model.weight, before) and compute.scaler.get_scale() == 512.0
    assert compute.state_dict()["grad_scaler"]["scale"] == 512.0


def test_channels_last_keeps_outputs():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 1))
    x = torch.randn(2, 3, 8, 8)
    want = model(x)
    Compute(device=CPU, channels_last=True).prepare_model(model)
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(model(x), want, atol=1e-6)


def test_invalid_combinations_name_the_field(tmp_path):
    with pytest.raises(ValueError, match="precision\n.*'bf16' autocast needs a CUDA GPU but device is 'cpu'"):
        _cfg(tmp_path, device="cpu", precision="bf16")
    cases = [
        ({"compute": {"precision": "fp16"}}, "compute: precision 'fp16' needs a GPU: set resources.gpus_per_trial"),
        (
            {"training": {"device": "cpu"}, "resources": {"gpus_per_trial": 1}, "compute": {"precision": "bf16"}},
            "compute: precision 'bf16' needs a GPU but training.device is 'cpu'",
        ),
        ({"training": {"device": "cuda"}}, "resources: training.device is 'cuda' but gpus_per_trial is 0"),
        ({"resources": {"workers_per_trial": 3}}, "resources: workers_per_trial 3 does not divide training.batch_size"),
        (
            {"resources": {"workers_per_trial": 2, "gpus_per_trial": 0.5}},
            "resources.workers_per_trial: .*need a whole GPU each",
        ),
        ({"resources": {"gpu_memory_fraction": 0.5}}, "resources.gpu_memory_fraction: .*needs gpus_per_trial > 0"),
        ({"compute": {"precision": "fp8"}}, "compute.precision"),
    ]
    for raw, message in cases:
        with pytest.raises(ConfigError, match=f"^exp.yaml: {message}"):
            parse_experiment(raw, source="exp.yaml")
    ok = parse_experiment(
        {
            "resources": {"gpus_per_trial": 0.25, "workers_per_trial": 1},
            "compute": {"precision": "bf16", "compile": True},
        }
    )
    assert ok.resources.use_gpu and ok.compute.compile


def test_compute_section_reaches_every_trial(tiny_dataset):
    from curriclip.names import Arm
    from curriclip.spaces import CurriculumSpace, baseline_configs

    experiment = parse_experiment(
        {
            "resources": {"gpus_per_trial": 0.5, "gpu_memory_fraction": 0.4},
            "compute": {
                "precision": "fp16",
                "tf32": False,
                "channels_last": True,
                "pin_memory": False,
                "compile": True,
            },
        }
    )
    want = {
        "precision": "fp16",
        "tf32": False,
        "channels_last": True,
        "pin_memory": False,
        "compile": True,
        "gpu_memory_fraction": 0.4,
    }
    trial = baseline_configs(experiment, str(tiny_dataset), Arm.SINGLE_TASK)[0]
    assert {k: trial[k] for k in want} == want
    assert {k: CurriculumSpace(experiment, str(tiny_dataset)).base[k] for k in want} == want
    TrialConfig.model_validate(trial)


def test_ray_placement_decides_the_device(tmp_path):
    from curriclip.trainables.tune_trainable import placed

    cfg = _cfg(tmp_path, device="auto", threads=None)
    cpu_trial = placed(cfg, 2, 0)  # no GPU given: the CPU, even where GPUs are visible
    assert cpu_trial.device == "cpu" and cpu_trial.threads == 2 and cpu_trial.gpu_memory_fraction is None
    quarter = placed(cfg, 1, 0.25)
    assert quarter.device == "auto" and quarter.gpu_memory_fraction == 0.25 and quarter.threads == 1
    assert placed(cfg, 4, 1).gpu_memory_fraction is None  # a whole GPU: no cap
    assert placed(cfg.model_copy(update={"gpu_memory_fraction": 0.4}), 1, 0.25).gpu_memory_fraction == 0.4


@pytest.fixture
def fake_cluster(monkeypatch):
    """``ray.cluster_resources`` / ``ray.nodes`` of a cluster described as a list of nodes' resources."""
    import ray

    def use(*nodes: dict) -> None:
        total: dict = {}
        for node in nodes:
            for key, value in node.items():
                total[key] = total.get(key, 0.0) + value
        monkeypatch.setattr(ray, "cluster_resources", lambda: total)
        monkeypatch.setattr(ray, "nodes", lambda: [{"Alive": True, "Resources": n} for n in nodes])

    return use


def test_concurrency_counts_workers_and_gpu_shares(fake_cluster):
    from curriclip.rundir.launch import concurrency as _concurrency

    def fit(**resources) -> int:
        return _concurrency(parse_experiment({"resources": resources}))

    fake_cluster({"CPU": 32.0, "GPU": 8.0})
    assert fit(cpus_per_trial=1, gpus_per_trial=1) == 8
    assert fit(cpus_per_trial=1, gpus_per_trial=0.5) == 16
    assert fit(cpus_per_trial=1, gpus_per_trial=0.25) == 32  # 4 trials per GPU
    assert fit(cpus_per_trial=4, gpus_per_trial=0.25) == 8  # then the CPUs bound it
    assert fit(cpus_per_trial=4, gpus_per_trial=1, workers_per_trial=2) == 4  # 2 workers x (4 CPU, 1 GPU)
    assert fit(cpus_per_trial=0.1, gpus_per_trial=0.1) == 80  # 8 / 0.1 is 79.999...
    with pytest.raises(ConfigError, match="workers_per_trial: 16 workers"):
        fit(cpus_per_trial=1, gpus_per_trial=1, workers_per_trial=16)
    fake_cluster({"CPU": 8.0, "GPU": 1.0}, {"CPU": 8.0, "GPU": 1.0})
    with pytest.raises(ConfigError, match="no node of the Ray cluster has 1 CPUs and 2 GPUs"):
        fit(cpus_per_trial=1, gpus_per_trial=2)
    assert fit(cpus_per_trial=1, gpus_per_trial=1, workers_per_trial=2) == 1  # one worker on each node
    fake_cluster({"CPU": 16.0})
    with pytest.raises(ConfigError, match="resources.gpus_per_trial: trials ask for GPUs but the Ray cluster has none"):
        fit(gpus_per_trial=0.25)


def test_data_parallel_trials_take_no_tune_cpu(monkeypatch):
    from curriclip.rundir.launch import trainable_for as _trainable

    single = _trainable(parse_experiment({"resources": {"cpus_per_trial": 2, "gpus_per_trial": 0.5}}))
    assert single._resources.required_resources == {"CPU": 2.0, "GPU": 0.5}
    driver = _trainable(parse_experiment({"resources": {"cpus_per_trial": 2, "workers_per_trial": 2}}))
    assert driver.__name__ == "curriclip_data_parallel"
    assert set(driver._resources.required_resources) == {"memory"}  # the workers reserve CPUs and GPUs


def test_set_tf32_round_trip():
    matmul = torch.backends.cuda.matmul.fp32_precision
    try:
        set_tf32(True)
        assert torch.backends.cuda.matmul.fp32_precision == "tf32"
        set_tf32(False)
        assert torch.backends.cuda.matmul.fp32_precision == "ieee"
    finally:
        torch.backends.cuda.matmul.fp32_precision = matmul


def test_every_compute_setting_but_compile_is_a_no_op_on_cpu_bit_for_bit(tiny_dataset):
    """The README's promise for CPU runs, beyond the defaults: TF32, channels-last, pinned memory and precision
    fp32 change nothing on a CPU, to the last bit of every reported metric."""

    def metrics(**compute) -> dict:
        reports = []
        cfg = tiny_trial(tiny_dataset, epochs=1, steps_per_epoch=3, **compute)
        run_trial(TrialConfig.model_validate(cfg), lambda m, state: reports.append(m))
        return {k: v for k, v in reports[-1].items() if not (k.endswith("_s") or "time" in k)}

    reference = metrics()
    assert len(reference) > 10 and reference["clip_score"] > 0
    everything = {"tf32": False, "channels_last": True, "pin_memory": False, "precision": "fp32"}
    for settings in (
        {"tf32": False},
        {"channels_last": True},
        {"pin_memory": False},
        {"precision": "fp32"},
        everything,
    ):
        assert metrics(**settings) == reference, settings
