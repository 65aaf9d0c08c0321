"""The per-epoch evaluation of a trial on its held-out split (validate in the search phase, test in confirm).

``Evaluator`` is built once per trial. It checks that the held-out split shares no
sample and no subject with the trial's training subset (evaluation never sees a
training sample), fingerprints the split (``test_split_hash``, which the export checks
is the same for every trial of a search) and tokenises the zero-shot prompts. For a
model it then gathers the metrics' inputs (the held-out embeddings, the prompts'
embeddings, the masks a segmentation head predicts) and runs every metric declared in
``curriclip.metrics.METRICS`` whose inputs are there, in registry order; each metric
says which result keys it reports.

Pairs whose reports tokenise identically count as positives for retrieval and are left
out of the mismatched pairs. A task with an ``evaluate(model, head, split, device)``
method adds metrics of its own; a task with ``predict_masks(model, head, images, size)``
feeds the ``masks`` input (the Dice metric).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from types import SimpleNamespace

import torch

from curriclip.data.loader import SplitArrays
from curriclip.errors import DataError
from curriclip.metrics import METRICS
from curriclip.metrics.alignment import clip_score_gap_pairs, clip_score_pairs
from curriclip.metrics.ranking import retrieval_auc_pairs
from curriclip.metrics.retrieval import retrieval_hits
from curriclip.metrics.spec import EvalInputs
from curriclip.metrics.uncertainty import BOOTSTRAP_RESAMPLES
from curriclip.metrics.zeroshot import finding_prompts

#: Held-out images per chunk of predicted masks.
MASK_BATCH = 128


def split_hash(sample_ids) -> str:
    """Fingerprint of an ordered list of sample ids (16 hex digits of SHA-256)."""
    digest = hashlib.sha256()
    for sample_id in sample_ids:
        digest.update(str(sample_id).encode())
        digest.update(b"\x1f")
    return digest.hexdigest()[:16]


def check_isolation(train: SplitArrays, test: SplitArrays) -> None:
    """Raise ``DataError`` if the held-out split shares a sample or a subject with the training subset."""
    for what, a, b in (("sample", train.sample_ids, test.sample_ids), ("subject", train.subject_ids, test.subject_ids)):
        shared = set(map(str, a)) & set(map(str, b))
        if shared:
            some = ", ".join(sorted(shared)[:5])
            raise DataError(
                f"evaluation would see training data: {len(shared)} {what} id(s) are in both the training subset "
                f"and the held-out split (e.g. {some}); re-split the dataset by subject"
            )


def identical_rows(tokens: torch.Tensor) -> torch.Tensor:
    """(N, N) bool: rows i and j hold identical token ids (the same report as the model sees it)."""
    _, inverse = torch.unique(tokens, dim=0, return_inverse=True)
    return inverse[:, None] == inverse[None, :]


@torch.no_grad()
def _batched(model, fn, inputs: torch.Tensor, batch_size: int, device: torch.device) -> torch.Tensor:
    was_training = model.training
    model.eval()
    try:
        parts = [fn(inputs[s : s + batch_size].to(device)).float().cpu() for s in range(0, len(inputs), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(parts)


def encode_texts(model, tokens: torch.Tensor, batch_size: int, device: torch.device) -> torch.Tensor:
    """Text embeddings (float32, CPU) of token ids, in eval mode."""
    return _batched(model, model.encode_text, tokens, batch_size, device)


def encode(
    model, images: torch.Tensor, tokens: torch.Tensor, batch_size: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Image and text embeddings (float32, CPU) of uint8 images and token ids, in eval mode."""
    return _batched(model, model.encode_image, images, batch_size, device), encode_texts(
        model, tokens, batch_size, device
    )


def run_metrics(inputs: EvalInputs) -> dict[str, float]:
    """Every metric of the registry whose inputs ``inputs`` has (the others report their ``absent`` values)."""
    available = inputs.available()
    out: dict[str, float] = {}
    for _, metric in METRICS.items():
        out.update(metric.compute(inputs) if metric.inputs <= available else metric.absent)
    return out


@torch.no_grad()
def mask_chunks(
    model, tasks: Mapping, split: SplitArrays, device: torch.device, batch_size: int = MASK_BATCH
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(predicted probabilities, target masks) of the held-out split in chunks, from every task that predicts masks."""
    for name, task in tasks.items():
        predict = getattr(task, "predict_masks", None)
        if predict is None:
            continue
        head = model.heads[name] if name in model.heads else None
        was_training = model.training
        model.eval()
        try:
            for start in range(0, len(split), batch_size):
                rows = torch.arange(start, min(start + batch_size, len(split)))
                masks = split.masks[rows].to(device).float()
                yield predict(model, head, split.images[rows].to(device), masks.shape[-2:]), masks
        finally:
            model.train(was_training)


class Evaluator:
    """Evaluates models of one trial on its held-out split (built once; called after every epoch)."""

    def __init__(
        self,
        train: SplitArrays,
        held_out: SplitArrays,
        held_out_tokens: torch.Tensor,
        tokenizer: Callable,
        batch_size: int,
        device: torch.device,
        n_resamples: int = BOOTSTRAP_RESAMPLES,
        split_name: str = "test",
    ) -> None:
        check_isolation(train, held_out)
        if len(held_out) < 2:
            raise DataError(f"the held-out split has {len(held_out)} pair(s); evaluation needs at least 2")
        self.held_out, self.held_out_tokens, self.split_name = held_out, held_out_tokens, split_name
        self.batch_size, self.device, self.n_resamples = batch_size, device, n_resamples
        self.test_split_hash = split_hash(held_out.sample_ids)
        self.positives = identical_rows(held_out_tokens)
        positive, negative = finding_prompts(held_out.label_names)
        self.num_findings = len(positive)
        self.prompt_tokens = tokenizer(positive + negative) if positive else None

    @torch.no_grad()
    def __call__(self, model, tasks: Mapping | None = None) -> dict[str, float | str]:
        tasks = tasks or {}
        images, texts = encode(model, self.held_out.images, self.held_out_tokens, self.batch_size, self.device)
        inputs = EvalInputs(self.n_resamples, images=images, texts=texts, positives=self.positives)
        if self.prompt_tokens is not None:
            prompts = encode_texts(model, self.prompt_tokens, self.batch_size, self.device)
            inputs.positive_prompts, inputs.negative_prompts = prompts.split(self.num_findings)
            inputs.labels = self.held_out.labels
        if self.held_out.masks is not None and any(hasattr(task, "predict_masks") for task in tasks.values()):
            inputs.mask_chunks = lambda: mask_chunks(model, tasks, self.held_out, self.device)
        out: dict[str, float | str] = dict(run_metrics(inputs))
        for name, task in tasks.items():
            hook = getattr(task, "evaluate", None)
            if hook is not None:
                head = model.heads[name] if name in model.heads else None
                out.update(hook(model, head, self.held_out, self.device))
        out["test_split_hash"] = self.test_split_hash
        out["split_evaluated"] = self.split_name
        return out

    @torch.no_grad()
    def per_pair(self, model) -> dict[str, list]:
        """Each held-out pair's CLIP score, CLIP-score gap, R@1 and retrieval AUC (the unit a two-level bootstrap
        resamples)."""
        images, texts = encode(model, self.held_out.images, self.held_out_tokens, self.batch_size, self.device)
        hits = retrieval_hits(images, texts, ks=(1,), positives=self.positives)
        return {
            "sample_id": [str(s) for s in self.held_out.sample_ids],
            "subject_id": [str(s) for s in self.held_out.subject_ids],
            "clip_score": clip_score_pairs(images, texts).tolist(),
            "clip_score_gap": clip_score_gap_pairs(images, texts, positives=self.positives).tolist(),
            "r1": ((hits["i2t_r1"].double() + hits["t2i_r1"].double()) / 2).tolist(),
            "retrieval_auc": retrieval_auc_pairs(images, texts, self.positives)["retrieval_auc"].tolist(),
        }


def init_metrics(metrics: Mapping[str, float | str]) -> dict[str, float]:
    """The untrained model's numeric metrics as ``init_*`` keys (reported beside every epoch's)."""
    return {
        f"init_{k}": float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
    }


# ---------------------------------------------------------------------------
# torchmetrics bridge: a curriclip model as the (model, processor) pair CLIPScore expects.
# ---------------------------------------------------------------------------


class _TorchmetricsModel(torch.nn.Module):
    """``get_image_features`` / ``get_text_features`` around a ``MultiTaskModel``."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model
        self.config = SimpleNamespace()  # torchmetrics reads config.text_config when present

    def get_image_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.model.encode_image(pixel_values)

    def get_text_features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.model.encode_text(input_ids)


class _TorchmetricsProcessor:
    """Images: a list of (1, H, W) uint8 tensors -> (B, H, W) uint8; texts: open_clip token ids."""

    def __init__(self, tokenizer: Callable) -> None:
        self.tokenizer = tokenizer

    def __call__(self, text=None, images=None, return_tensors: str = "pt", padding: bool = True) -> dict:
        if images is not None:
            return {"pixel_values": torch.stack([image.reshape(image.shape[-2:]) for image in images])}
        tokens = self.tokenizer(list(text))
        return {"input_ids": tokens, "attention_mask": (tokens != 0).long()}


def torchmetrics_clip(model, tokenizer: Callable) -> Callable[[], tuple[torch.nn.Module, object]]:
    """``model_name_or_path`` for torchmetrics' ``CLIPScore``: scores a curriclip model, no download.

    Images go in as (1, H, W) uint8 tensors (torchmetrics wants channel-first images).
    """
    return lambda: (_TorchmetricsModel(model), _TorchmetricsProcessor(tokenizer))
