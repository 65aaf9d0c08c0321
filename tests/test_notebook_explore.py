"""notebooks/explore_run.ipynb runs top to bottom (nbclient) against a tiny synthetic run and
finds what the run holds: trials, levels, the best curriculum trial per level."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from test_reports_sections import make_rich_frames, write_run

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "explore_run.ipynb"


def test_explore_notebook_executes(tmp_path, monkeypatch):
    trials, epochs = make_rich_frames(n_curr=5)
    run = write_run(tmp_path / "tiny_run", trials, epochs, yaml="name: tiny\n")
    monkeypatch.setenv("CURRICLIP_RUN_DIR", str(run))  # the kernel inherits the environment
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit the notebook without outputs"
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # the figures were rebuilt (plotly's mimetype bundle or its HTML)
    figs = [o for o in outputs if o.output_type in ("display_data", "execute_result")
            and any("plotly" in k or "html" in k for k in o.get("data", {}))]  # fmt: skip
    assert len(figs) >= 7
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "tiny_run: " in text and f"{len(trials)} trials" in text
    digest = json.loads(next(line for line in text.splitlines() if line.startswith("DIGEST "))[7:])
    done = trials[(trials["status"] == "completed") & trials["final_clip_score"].notna()]
    cur = done[done["arm"] == "curriculum"]
    best = cur.loc[cur.groupby("sparsity")["final_clip_score"].idxmax()]
    assert digest["trials"] == len(trials) and digest["completed"] == len(done)
    assert digest["levels"] == sorted(trials["sparsity"].unique().tolist())
    assert digest["best_per_level"] == {str(float(s)): t for s, t in zip(best["sparsity"], best["trial_id"])}
    assert digest["top_param"] is not None
