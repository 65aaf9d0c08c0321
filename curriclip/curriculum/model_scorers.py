"""Model-based difficulty scorers (torch): transfer teacher, self-paced, image-text agreement.

Registered by name in ``curriclip.curriculum.scorers.SCORERS`` and imported only
when one is created. Per-sample ITC loss needs negatives: the pool is cut into chunks
of the trial's batch size by a permutation seeded from the trial seed (the same chunks
at every epoch), so a sample's loss is the symmetric CLIP loss of its pair against the
other pairs of its chunk, as in a training batch. Scoring runs in eval mode under
``torch.no_grad`` and leaves the model's mode, the global torch RNG and the trial's
random generators untouched, so a trial stays reproducible and resumable.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from curriclip.curriculum.difficulty import Scorer, ScoringContext

#: Offset of the seeds the scorers derive from the trial seed (kept apart from the trial's own streams).
SEED_OFFSET = 7919


def _chunks(n: int, batch_size: int, seed: int) -> list[np.ndarray]:
    perm = np.random.default_rng(seed + SEED_OFFSET).permutation(n)
    size = max(2, batch_size)
    chunks = [perm[i : i + size] for i in range(0, n, size)]
    if len(chunks) > 1 and len(chunks[-1]) < 2:  # a lone pair has no negatives
        chunks[-2] = np.concatenate([chunks[-2], chunks.pop()])
    return chunks


def _itc_logits(model, images: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    image = F.normalize(model.encode_image(images).float(), dim=-1)
    text = F.normalize(model.encode_text(tokens).float(), dim=-1)
    return model.logit_scale.exp().float() * image @ text.T, (image * text).sum(-1)


@torch.no_grad()
def pair_statistics(model, ctx: ScoringContext) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample symmetric ITC loss and image-text cosine of every training pair under ``model``."""
    cfg, train, device = ctx.config, ctx.train, ctx.device or torch.device("cpu")
    n = len(train)
    loss, cosine = np.zeros(n), np.zeros(n)
    was_training = model.training
    model.eval()
    try:
        for chunk in _chunks(n, cfg.batch_size, cfg.seed):
            idx = torch.as_tensor(chunk, dtype=torch.long)
            logits, cos = _itc_logits(model, train.images[idx].to(device), ctx.tokens[idx].to(device))
            target = torch.arange(len(chunk), device=logits.device)
            per_pair = 0.5 * (
                F.cross_entropy(logits, target, reduction="none") + F.cross_entropy(logits.T, target, reduction="none")
            )
            loss[chunk] = per_pair.cpu().double().numpy()
            cosine[chunk] = cos.cpu().double().numpy()
    finally:
        model.train(was_training)
    return loss, cosine


class TransferTeacher(Scorer):
    """Per-sample ITC loss under a reference model trained for ``steps`` steps on the same subset.

    The teacher is built by the trial's own model-building code (``ctx.build_model``),
    trained on ITC alone with AdamW at the trial's learning rate on random batches of the
    trial's batch size, then discarded. Its initialisation and batches draw from seeds
    derived from the trial seed inside a forked torch RNG, so the trial's own streams
    are not consumed.
    """

    def __init__(self, steps: float = 30) -> None:
        super().__init__(steps=steps)
        self.steps = int(round(steps))

    def score(self, ctx: ScoringContext) -> np.ndarray:
        if ctx.build_model is None:
            raise ValueError("the transfer_teacher scorer needs a model builder in its ScoringContext")
        cfg, train, device = ctx.config, ctx.train, ctx.device or torch.device("cpu")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed + SEED_OFFSET)
            teacher = ctx.build_model()
            teacher.train()
            optimizer = torch.optim.AdamW(teacher.parameters(), lr=cfg.lr, weight_decay=0.0)
            rng = np.random.default_rng(cfg.seed + SEED_OFFSET)
            size = min(cfg.batch_size, len(train))
            for _ in range(self.steps):
                idx = torch.as_tensor(rng.choice(len(train), size=size, replace=False), dtype=torch.long)
                logits, _ = _itc_logits(teacher, train.images[idx].to(device), ctx.tokens[idx].to(device))
                target = torch.arange(size, device=logits.device)
                loss = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            scores, _ = pair_statistics(teacher, ctx)
        return scores


class SelfPaced(Scorer):
    """The current model's per-sample ITC loss (re-scored every epoch)."""

    dynamic = True

    def score(self, ctx: ScoringContext) -> np.ndarray:
        loss, _ = pair_statistics(ctx.model, ctx)
        return loss


class ImageTextAgreement(Scorer):
    """1 - cos(image, text) of each pair under the current model (re-scored every epoch)."""

    dynamic = True

    def score(self, ctx: ScoringContext) -> np.ndarray:
        _, cosine = pair_statistics(ctx.model, ctx)
        return 1.0 - cosine
