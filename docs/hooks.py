"""MkDocs hook: the presets page shows each preset's settings as read from ``curriclip/presets.py``.

The marker ``<!-- preset-settings -->`` in a page is replaced, at build time, by one YAML block per
registered experiment preset (its overrides of the experiment defaults), so the page never drifts
from the code.
"""

from __future__ import annotations

import yaml

MARKER = "<!-- preset-settings -->"


def preset_settings() -> str:
    from curriclip.presets import EXPERIMENTS

    blocks = []
    for name in EXPERIMENTS.names():
        body = yaml.safe_dump(EXPERIMENTS.get(name), sort_keys=False, default_flow_style=None, width=100)
        blocks.append(f"### `{name}`\n\n```yaml\n{body}```\n")
    return "\n".join(blocks)


def on_page_markdown(markdown: str, **kwargs) -> str:
    return markdown.replace(MARKER, preset_settings()) if MARKER in markdown else markdown
