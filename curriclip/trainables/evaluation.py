"""The per-epoch evaluation of a trial on the fixed held-out split.

``Evaluator`` is built once per trial. It checks that the held-out split shares no
sample and no subject with the trial's training subset (evaluation never sees a
training sample), fingerprints the split (``test_split_hash``, which the export checks
is the same for every trial of a search), tokenises the zero-shot prompts, and then,
for a model, embeds the held-out pairs and computes every metric:

===========================  ==============================================================
``clip_score``               Hessel CLIP score of matched pairs (w = 2.5), the search metric
``clip_score_ci_low/high``   95% bootstrap interval over test pairs (1000 resamples, seed 0)
``mean_cosine``              mean matched cosine, unclamped
``clip_score_mismatched``    CLIP score of mismatched pairs
``clip_score_gap``           matched minus mismatched (about 0 without learned alignment)
``clip_score_gap_ci_low/high``  its bootstrap interval
``i2t_r{1,5,10}``            image->text Recall@K (fractions); ``t2i_r{1,5,10}`` text->image
``recall_sum``               the six recalls added (at most 6)
``i2t_r1_ci_low/high``       bootstrap intervals of R@1 (``t2i_r1_ci_low/high`` likewise)
``modality_gap``             distance of the normalised modality centroids (Liang et al.)
``alignment``                Wang & Isola alignment (alpha 2; lower is better)
``uniformity``               mean of ``uniformity_image`` and ``uniformity_text`` (t 2; lower
                             is more uniform)
``zeroshot_auroc``           macro AUROC of "<finding>." vs "no <finding>." prompts
``zeroshot_findings``        findings with both classes in the split (that AUROC's support)
``test_split_hash``          fingerprint of the ordered held-out sample ids (a string)
===========================  ==============================================================

Pairs whose reports tokenise identically count as positives for retrieval and are left
out of the mismatched pairs. A task with an ``evaluate(model, head, split, device)``
method adds its own metrics (the hook for segmentation heads, which report
``curriclip.metrics.dice``).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from types import SimpleNamespace

import torch

from curriclip import metrics as M
from curriclip.data.loader import SplitArrays
from curriclip.errors import DataError
from curriclip.metrics.uncertainty import BOOTSTRAP_RESAMPLES

RECALL_KS = (1, 5, 10)


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


def embedding_metrics(
    images: torch.Tensor,
    texts: torch.Tensor,
    positives: torch.Tensor | None = None,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
) -> dict[str, float]:
    """Every pair metric of matched (N, D) image and text embeddings, with bootstrap intervals."""
    out: dict[str, float] = {}
    pair_scores = M.clip_score_pairs(images, texts)
    out["clip_score"] = float(pair_scores.mean())
    out["clip_score_ci_low"], out["clip_score_ci_high"] = M.bootstrap_ci(pair_scores, n_resamples)
    out["mean_cosine"] = M.mean_cosine(images, texts)
    gaps = M.clip_score_gap_pairs(images, texts, positives=positives)
    out["clip_score_gap"] = float(gaps.mean())
    out["clip_score_mismatched"] = out["clip_score"] - out["clip_score_gap"]
    out["clip_score_gap_ci_low"], out["clip_score_gap_ci_high"] = M.bootstrap_ci(gaps, n_resamples)
    hits = M.retrieval_hits(images, texts, RECALL_KS, positives)
    for name, h in hits.items():
        out[name] = float(h.double().mean())
    out["recall_sum"] = sum(out[name] for name in hits)
    for name in ("i2t_r1", "t2i_r1"):
        out[f"{name}_ci_low"], out[f"{name}_ci_high"] = M.bootstrap_ci(hits[name], n_resamples)
    out["modality_gap"] = M.modality_gap(images, texts)
    out["alignment"] = M.alignment(images, texts)
    out["uniformity_image"] = M.uniformity(images)
    out["uniformity_text"] = M.uniformity(texts)
    out["uniformity"] = (out["uniformity_image"] + out["uniformity_text"]) / 2
    return out


class Evaluator:
    """Evaluates models of one trial on its held-out split (built once; called after every epoch)."""

    def __init__(
        self,
        train: SplitArrays,
        test: SplitArrays,
        test_tokens: torch.Tensor,
        tokenizer: Callable,
        batch_size: int,
        device: torch.device,
        n_resamples: int = BOOTSTRAP_RESAMPLES,
    ) -> None:
        check_isolation(train, test)
        if len(test) < 2:
            raise DataError(f"the held-out split has {len(test)} pair(s); evaluation needs at least 2")
        self.test, self.test_tokens = test, test_tokens
        self.batch_size, self.device, self.n_resamples = batch_size, device, n_resamples
        self.test_split_hash = split_hash(test.sample_ids)
        self.positives = identical_rows(test_tokens)
        positive, negative = M.finding_prompts(test.label_names)
        self.num_findings = len(positive)
        self.prompt_tokens = tokenizer(positive + negative) if positive else None

    @torch.no_grad()
    def __call__(self, model, tasks: Mapping | None = None) -> dict[str, float | str]:
        images, texts = encode(model, self.test.images, self.test_tokens, self.batch_size, self.device)
        out: dict[str, float | str] = dict(embedding_metrics(images, texts, self.positives, self.n_resamples))
        if self.prompt_tokens is not None:
            prompts = encode_texts(model, self.prompt_tokens, self.batch_size, self.device)
            k = self.num_findings
            out["zeroshot_auroc"], out["zeroshot_findings"] = M.zeroshot_auroc(
                images, prompts[:k], prompts[k:], self.test.labels
            )
        else:  # a dataset without finding labels
            out["zeroshot_auroc"], out["zeroshot_findings"] = math.nan, 0
        for name, task in (tasks or {}).items():
            hook = getattr(task, "evaluate", None)
            if hook is not None:
                head = model.heads[name] if name in model.heads else None
                out.update(hook(model, head, self.test, self.device))
        out["test_split_hash"] = self.test_split_hash
        return out


def init_metrics(metrics: Mapping[str, float | str]) -> dict[str, float]:
    """The untrained model's numeric metrics as ``init_*`` keys (reported beside every epoch's)."""
    return {
        f"init_{k}": float(v)
        for k, v in metrics.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
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

