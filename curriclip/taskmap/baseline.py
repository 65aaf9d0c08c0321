"""The CLIP baseline: a task as the mean over its pairs of CLIP(target) - CLIP(input).

The image tower is, by default, the project's open_clip model (a preset such as
``tiny``) with random weights: **untrained**, the offline default, and labelled so on
the page. TaCo's baseline is a pretrained CLIP: ``pretrained`` names a local open_clip
weights file and its architecture (``ViT-B-32``, ...), read without any download. A
trained trial's tower (its ``state.pt``, whose ``model`` state dict holds it under
``clip.visual.``) is the third choice. Image embeddings are L2-normalised before the
difference, as CLIP compares them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from curriclip.errors import DataError

VISUAL_PREFIX = "clip.visual."


class ClipBaseline:
    """Embeds pair sets with an open_clip image tower (preset ``preset``, optionally a trial's weights)."""

    def __init__(
        self,
        preset: str = "tiny",
        checkpoint: str | Path | None = None,
        pretrained: tuple[str, str | Path] | None = None,
    ) -> None:
        from curriclip.models.factory import build_clip
        from curriclip.models.multitask import MultiTaskModel

        self.pretrained = None
        if pretrained is not None:
            self.pretrained, self.size = load_pretrained(*pretrained)
            self.label = f"pretrained {pretrained[0]} ({Path(pretrained[1]).name})"
            return
        torch.manual_seed(0)  # the untrained tower is the same on every run
        clip, _, self.size = build_clip(preset)
        if checkpoint is not None:
            load_visual(clip, Path(checkpoint))
        self.label = (
            f"trained trial tower ({checkpoint})" if checkpoint else f"untrained {preset} tower (random weights)"
        )
        self.model = MultiTaskModel(clip, {}).eval()

    @torch.no_grad()
    def image_embeddings(self, images: torch.Tensor) -> torch.Tensor:
        """(n, S, S) float [0, 1] -> (n, d) unit-norm CLIP image embeddings."""
        from curriclip.models.multitask import GRAY_MEAN, GRAY_STD

        x = F.interpolate(images.unsqueeze(1), size=(self.size, self.size), mode="bilinear", align_corners=False)
        if self.pretrained is not None:  # gray replicated to RGB, normalised as the weights were trained
            from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD

            mean = torch.tensor(OPENAI_DATASET_MEAN).view(1, 3, 1, 1)
            std = torch.tensor(OPENAI_DATASET_STD).view(1, 3, 1, 1)
            return F.normalize(self.pretrained.encode_image((x.expand(-1, 3, -1, -1) - mean) / std).float(), dim=-1)
        x = (x[:, 0] - GRAY_MEAN) / GRAY_STD
        return F.normalize(self.model.encode_image(x).float(), dim=-1)

    @torch.no_grad()
    def embed_sets(self, pair_sets: Sequence[torch.Tensor]) -> np.ndarray:
        """(n, d): for each (m, 2, S, S) set, the mean of target minus input embeddings."""
        out = []
        for pairs in pair_sets:
            inputs, targets = self.image_embeddings(pairs[:, 0]), self.image_embeddings(pairs[:, 1])
            out.append((targets - inputs).mean(dim=0).numpy())
        return np.stack(out)


def load_pretrained(model_name: str, path: str | Path) -> tuple[torch.nn.Module, int]:
    """An open_clip model ``model_name`` with the weights of the local file ``path``, and its image side."""
    import open_clip

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: pretrained CLIP weights not found (--clip-pretrained takes a local file)")
    try:
        model = open_clip.create_model(model_name, pretrained=str(path))
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise DataError(f"{path}: not weights of the open_clip model {model_name!r} ({first})") from None
    size = model.visual.image_size
    return model.eval(), int(size[0] if isinstance(size, tuple | list) else size)


def load_visual(clip: torch.nn.Module, path: Path) -> None:
    """Load the image tower of a trial checkpoint (``state.pt`` or the checkpoint directory holding it)."""
    if path.is_dir():
        path = path / "state.pt"
    if not path.is_file():
        raise DataError(f"{path}: CLIP checkpoint not found")
    state = torch.load(path, map_location="cpu", weights_only=True)
    model_state = state.get("model", state) if isinstance(state, dict) else {}
    visual = {key[len(VISUAL_PREFIX) :]: value for key, value in model_state.items() if key.startswith(VISUAL_PREFIX)}
    if not visual:
        raise DataError(f"{path}: no image tower (keys '{VISUAL_PREFIX}*') in this checkpoint")
    try:
        clip.visual.load_state_dict(visual)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise DataError(f"{path}: the image tower does not match the CLIP preset ({first})") from None
