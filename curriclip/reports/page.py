"""Assemble the search report: one self-contained, offline HTML file from a run directory.

Reads only ``trials.parquet``, ``epochs.parquet`` and ``experiment.yaml`` (any of which may
be missing, empty or half-written while a search starts) and writes ``report.html``
atomically, so a browser or a file watcher never sees a partial page.

Escaping: every user string placed in the page's HTML goes through ``html.escape``; the
figures' data travels as plotly JSON, which encodes ``<``, ``>`` and ``/`` as ``\\u003c``...,
and ``_seal_scripts`` additionally neutralises any ``</`` inside a figure's script.
"""

from __future__ import annotations

import html
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import plotly.io as pio
import plotly.offline

from . import figures as F
from . import study as S

TRIAL_COLUMNS = {
    "trial_id": "str",
    "status": "str",
    "arm": "str",
    "sparsity": "float",
    "seed": "int",
    "pacing": "str",
    "ordering": "str",
    "lr": "float",
    "epochs_done": "int",
    "final_clip_score": "float",
    "best_clip_score": "float",
    "init_clip_score": "float",
    "error": "str",
    "config_json": "str",
}
EPOCH_COLUMNS = {
    "trial_id": "str",
    "arm": "str",
    "sparsity": "float",
    "epoch": "int",
    "clip_score": "float",
    "loss": "float",
    "data_fraction": "float",
    "active_tasks": "str",
    "time_s": "float",
}
STATUSES = ("completed", "pruned", "errored", "running", "pending")
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}


# --------------------------------------------------------------------------- loading


@dataclass
class Results:
    """What a run directory holds, normalised: every contract column exists with its dtype."""

    run_dir: Path
    trials: pd.DataFrame
    epochs: pd.DataFrame
    experiment_yaml: str | None = None
    notes: list[str] = field(default_factory=list)  # problems met while reading

    @property
    def experiment(self) -> dict:
        """experiment.yaml parsed (empty when absent or unreadable)."""
        if not self.experiment_yaml:
            return {}
        try:
            import yaml

            data = yaml.safe_load(self.experiment_yaml)
        except Exception:  # noqa: BLE001 - a broken file only loses the Pareto detection
            return {}
        return data if isinstance(data, dict) else {}

    @property
    def run_name(self) -> str:
        return self.run_dir.resolve().name or str(self.run_dir)

    @property
    def empty(self) -> bool:
        return self.trials.empty and self.epochs.empty

    def status_counts(self) -> dict[str, int]:
        if self.trials.empty:
            return {}
        counts = self.trials["status"].fillna("unknown").value_counts()
        order = [s for s in STATUSES if s in counts] + sorted(s for s in counts.index if s not in STATUSES)
        return {s: int(counts[s]) for s in order}


def _normalise(df: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    df = df.copy()
    for col, kind in columns.items():
        if col not in df.columns:
            df[col] = pd.Series([None] * len(df), dtype="object" if kind == "str" else "float64")
        if kind == "float":
            df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
        elif kind == "int":
            df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")
        else:
            s = df[col].astype("object")
            df[col] = s.where(s.notna(), None).map(lambda v: v if v is None else str(v))
    for col in df.columns:  # other numeric columns (param/*, final/*, loss/*) as float
        if col not in columns and pd.api.types.is_numeric_dtype(df[col]) and not pd.api.types.is_bool_dtype(df[col]):
            df[col] = df[col].astype("float64")
    return df.reset_index(drop=True)


# Columns that could carry a credentialed dataset's report text or images (MIMIC-CXR findings /
# impression sections, captions, pixels). Result files should never hold them; if one does, the
# report drops it on reading, so no such text or image can reach the page. Numeric columns of
# the same name (a metric such as ``loss/findings``) are kept.
SENSITIVE_NAMES = {
    "findings", "impression", "impressions", "report", "reports", "report_text", "text", "texts", "caption",
    "captions", "image", "images", "image_path", "image_bytes", "pixels", "findings_text", "impression_text",
    "sentence", "sentences", "note", "notes",
}  # fmt: skip


def _sensitive(name: object, series: pd.Series | None = None) -> bool:
    last = str(name).rsplit("/", 1)[-1].lower()
    if last not in SENSITIVE_NAMES:
        return False
    return series is None or not (pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series))


def _drop_sensitive(df: pd.DataFrame) -> pd.DataFrame:
    bad = [c for c in df.columns if _sensitive(c, df[c]) or df[c].map(lambda v: isinstance(v, bytes)).any()]
    return df.drop(columns=bad) if bad else df


def clean_config(text: object) -> dict:
    """A trial's config_json as a dict, without any key that could carry dataset text."""
    if not isinstance(text, str) or not text:
        return {}
    try:
        cfg = json.loads(text)
    except (TypeError, ValueError):
        return {}
    if not isinstance(cfg, dict):
        return {}
    return {k: v for k, v in cfg.items() if not (_sensitive(k) and not isinstance(v, (int, float, bool)))}


def _derive_choices(trials: pd.DataFrame) -> pd.DataFrame:
    """Curriculum choices recorded only inside config_json (weighting, scorer) as columns."""
    if trials.empty:
        return trials
    cfgs = None
    for key in ("weighting", "scorer"):
        if key in trials.columns:
            continue
        if f"param/{key}" in trials.columns:
            trials[key] = trials[f"param/{key}"].map(lambda v: None if F._missing(v) else str(v))
            continue
        if cfgs is None:
            cfgs = trials["config_json"].map(clean_config)
        vals = cfgs.map(lambda c, k=key: None if c.get(k) is None else str(c.get(k)))
        if vals.notna().any():
            trials[key] = vals
    return trials


def _read_parquet(path: Path, notes: list[str]) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame()
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # half-written or corrupt: report it, render the rest
        notes.append(f"could not read {path.name} (still being written?): {type(exc).__name__}: {exc}")
        return pd.DataFrame()


def load_results(run_dir: str | Path) -> Results:
    """Read a run directory's result files; missing or unreadable files give empty frames."""
    run_dir = Path(run_dir)
    notes: list[str] = []
    trials = _normalise(_drop_sensitive(_read_parquet(run_dir / "trials.parquet", notes)), TRIAL_COLUMNS)
    epochs = _normalise(_drop_sensitive(_read_parquet(run_dir / "epochs.parquet", notes)), EPOCH_COLUMNS)
    trials = _derive_choices(trials)
    # Drop rows without an id: nothing can be said about them.
    trials = trials[trials["trial_id"].notna()].drop_duplicates("trial_id", keep="last")
    epochs = epochs[epochs["trial_id"].notna()]
    if not trials.empty:
        trials = trials.sort_values(["sparsity", "arm", "trial_id"], na_position="last").reset_index(drop=True)
    if not epochs.empty:
        # Fill arm / sparsity from trials when the epoch rows lack them.
        if not trials.empty:
            info = trials.set_index("trial_id")
            epochs["arm"] = epochs["arm"].fillna(epochs["trial_id"].map(info["arm"]))
            epochs["sparsity"] = epochs["sparsity"].fillna(epochs["trial_id"].map(info["sparsity"]))
        epochs = epochs.sort_values(["trial_id", "epoch"]).reset_index(drop=True)
    yaml_path = run_dir / "experiment.yaml"
    experiment_yaml = None
    if yaml_path.exists():
        try:
            experiment_yaml = yaml_path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            notes.append(f"could not read experiment.yaml: {exc}")
    return Results(run_dir, trials, epochs, experiment_yaml, notes)


# --------------------------------------------------------------------------- html pieces

esc = html.escape

CSS = """
:root { --fg:#1d2330; --muted:#5d6677; --line:#e3e6ec; --bg:#fafbfc; --blue:#1f77b4; --grey:#7f7f7f; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width:1200px; margin:0 auto; padding:24px 20px 64px; }
header h1 { margin:0 0 4px; font-size:26px; }
h2 { margin:40px 0 8px; padding-bottom:4px; border-bottom:2px solid var(--line); font-size:21px; }
h3 { margin:24px 0 6px; font-size:16px; }
p, li { max-width:80ch; }
.muted { color:var(--muted); }
.headline { font-size:16px; margin:8px 0; }
.small { font-size:13px; }
nav a { margin-right:14px; color:var(--blue); text-decoration:none; }
.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:8px; margin:12px 0; }
.note { background:#fff8e1; border:1px solid #f2dc95; border-radius:8px; padding:10px 14px; margin:12px 0; }
.warn { background:#fdecea; border:1px solid #f5c2bd; border-radius:8px; padding:10px 14px; margin:12px 0; }
.badges span { display:inline-block; margin:2px 6px 2px 0; padding:1px 9px; border-radius:10px;
  background:#eef1f5; font-size:13px; }
.s-completed { color:#1b7f3b; } .s-pruned { color:#9a6700; } .s-errored { color:#c62828; }
.s-running { color:#1565c0; } .s-pending { color:var(--muted); }
table { border-collapse:collapse; width:100%; background:#fff; font-size:13px; }
th, td { border-bottom:1px solid var(--line); padding:5px 8px; text-align:left; vertical-align:top; }
th { background:#f2f4f7; position:sticky; top:0; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
td.num { white-space:nowrap; }
table.sortable th { cursor:pointer; user-select:none; white-space:nowrap; }
table.sortable th::after { content:" \\2195"; color:#b0b6c0; }
table.sortable th[aria-sort=ascending]::after { content:" \\2191"; color:var(--fg); }
table.sortable th[aria-sort=descending]::after { content:" \\2193"; color:var(--fg); }
.scroll { max-height:640px; overflow:auto; border:1px solid var(--line); border-radius:8px; }
td.err { max-width:360px; overflow-wrap:anywhere; color:#c62828; }
td.verdict { max-width:340px; }
.better { color:#1b7f3b; font-weight:600; } .worse { color:#c62828; font-weight:600; }
details { margin:10px 0; } summary { cursor:pointer; color:var(--blue); }
#inspector { position:fixed; right:16px; bottom:16px; width:360px; max-height:60vh; overflow:auto; z-index:10;
  background:#fff; border:1px solid #c9ced6; border-radius:8px; padding:8px 12px;
  box-shadow:0 4px 16px rgba(0,0,0,.15); font-size:12.5px; }
#inspector pre { border:0; padding:4px 0; margin:0; max-height:none; white-space:pre-wrap; overflow-wrap:anywhere; }
.insp-head { display:flex; justify-content:space-between; align-items:center; }
#insp-close { border:0; background:none; font-size:18px; cursor:pointer; color:var(--muted); }
tr[data-trial]:hover { background:#f3f7fc; }
pre { background:#fff; border:1px solid var(--line); border-radius:8px; padding:12px; overflow:auto;
  font-size:12.5px; max-height:500px; }
"""

SORT_JS = """
(function () {
  function key(td) {
    var v = td.getAttribute('data-value');
    if (v === null) v = td.textContent.trim();
    if (v === '') return null;
    var n = Number(v);
    return isNaN(n) ? v.toLowerCase() : n;
  }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    var ths = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(ths, function (th, col) {
      th.addEventListener('click', function () {
        var asc = th.getAttribute('aria-sort') !== 'ascending';
        Array.prototype.forEach.call(ths, function (h) { h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
        var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[col]), y = key(b.cells[col]);
          if (x === null || y === null) return (x === null) - (y === null);  /* blanks last */
          if (typeof x !== typeof y) { x = String(x); y = String(y); }
          var c = x < y ? -1 : x > y ? 1 : 0;
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
"""


INSPECT_JS = """
(function () {
  var data = document.getElementById('trial-configs');
  var panel = document.getElementById('inspector');
  if (!data || !panel) return;
  var configs = JSON.parse(data.textContent);
  var title = document.getElementById('insp-title'), body = document.getElementById('insp-body');
  var pinned = false;
  function show(key, pin) {
    var c = configs[key];
    if (!c || (pinned && !pin)) return false;
    if (pin) pinned = true;
    title.textContent = 'trial ' + c.trial_id + (c.status ? ' (' + c.status + ')' : '');
    var lines = Object.keys(c.config).sort().map(function (k) {
      return k + ': ' + JSON.stringify(c.config[k]);
    });
    body.textContent = lines.length ? lines.join('\\n') : '(no configuration recorded)';
    panel.hidden = false;
    panel.setAttribute('data-trial', key);
    return true;
  }
  window.curriclipShowTrial = show;
  document.getElementById('insp-close').addEventListener('click', function () {
    pinned = false; panel.hidden = true;
  });
  function keyOf(ev) {
    var p = ev && ev.points && ev.points[0];
    if (!p || !p.customdata) return null;
    return Array.isArray(p.customdata) ? p.customdata[0] : p.customdata;
  }
  function hook() {
    document.querySelectorAll('.plotly-graph-div').forEach(function (gd) {
      if (!gd.on || gd.__inspector) return;
      gd.__inspector = true;
      gd.on('plotly_hover', function (ev) { var k = keyOf(ev); if (k) show(k, false); });
      gd.on('plotly_click', function (ev) { var k = keyOf(ev); if (k) { pinned = false; show(k, true); } });
    });
  }
  hook();
  window.addEventListener('load', hook);
  document.querySelectorAll('tr[data-trial]').forEach(function (tr) {
    tr.addEventListener('mouseenter', function () { show(tr.getAttribute('data-trial'), false); });
    tr.addEventListener('click', function () { pinned = false; show(tr.getAttribute('data-trial'), true); });
  });
})();
"""


def _is_missing(v: object) -> bool:
    if v is None or v is pd.NA:
        return True
    try:
        return bool(isinstance(v, float) and math.isnan(v))
    except TypeError:
        return False


def _td(value: object, kind: str = "str", spec: str = ".4f", cls: str = "", title: str | None = None) -> str:
    """A table cell; numbers carry their raw value in data-value for sorting."""
    classes = [cls] if cls else []
    attrs = ""
    if kind == "num":
        classes.append("num")
        if _is_missing(value):
            text, attrs = "", ' data-value=""'
        else:
            text = format(value, spec) if spec else str(value)
            attrs = f' data-value="{esc(repr(float(value)))}"'
    else:
        text = "" if _is_missing(value) else esc(str(value))
    if title:
        attrs += f' title="{esc(title)}"'
    cls_attr = f' class="{" ".join(classes)}"' if classes else ""
    return f"<td{cls_attr}{attrs}>{text}</td>"


def _fig_html(fig) -> str:
    """A figure as a div + script; plotly.js itself is embedded once, in <head>."""
    height = fig.layout.height or 450
    div = pio.to_html(
        fig,
        include_plotlyjs=False,
        full_html=False,
        config=PLOTLY_CONFIG,
        default_width="100%",
        default_height=f"{int(height)}px",
    )
    return f'<div class="card figure" data-traces="{len(fig.data)}">{_seal_scripts(div)}</div>'


def _seal_scripts(fragment: str) -> str:
    """Make sure nothing inside a figure's <script> can close it early.

    plotly's JSON already writes ``<``/``>``/``/`` as ``\\u003c``-style escapes; this is the
    belt to those braces, not relying on a plotly implementation detail: between the
    fragment's first ``<script ...>`` and its last ``</script>``, ``</`` becomes ``<\\/``
    and ``<!--`` becomes ``<\\!--`` (equivalent inside JavaScript strings).
    """
    start = fragment.find("<script")
    end = fragment.rfind("</script>")
    if start < 0 or end < 0:
        return fragment
    open_end = fragment.index(">", start) + 1
    inner = fragment[open_end:end].replace("</", "<\\/").replace("<!--", "<\\!--")
    return fragment[:open_end] + inner + fragment[end:]


def _status_badges(counts: dict[str, int]) -> str:
    if not counts:
        return '<span class="muted">no trials yet</span>'
    parts = [f'<span class="s-{esc(s)}">{esc(s)}: <b>{n}</b></span>' for s, n in counts.items()]
    parts.append(f"<span>total: <b>{sum(counts.values())}</b></span>")
    return '<div class="badges">' + "".join(parts) + "</div>"


def _pm(mean: float, hw: float, spec: str = ".4f") -> str:
    """'mean ± half-width', just the mean when there is no interval, a dash when no mean."""
    if math.isnan(mean):
        return "—"
    return format(mean, spec) + ("" if math.isnan(hw) else f" ± {hw:.4f}")


def _answer_table(summary: pd.DataFrame) -> str:
    if summary.empty:
        return ""
    head = (
        "<thead><tr><th class=num>sparsity</th><th class=num>untrained model</th><th class=num>single-task n</th>"
        "<th class=num>single-task mean ± 95% CI</th><th class=num>curriculum n</th>"
        "<th class=num>curriculum mean ± 95% CI</th><th class=num>curriculum best</th>"
        "<th>best trial</th><th class=num>diff (curriculum mean − single-task mean) ± 95% CI</th>"
        "<th class=num>best − single-task mean</th><th>verdict</th></tr></thead>"
    )
    rows = []
    for r in summary.itertuples():
        v = r.verdict
        vcls = "verdict " + ("better" if " better " in v else "worse" if " worse " in v else "")
        rows.append(
            "<tr>"
            + f'<td class="num" data-value="{r.sparsity!r}">{esc(F.fmt_sparsity(r.sparsity))}</td>'
            + _td(r.untrained_mean, "num")
            + _td(r.single_n, "num", "d")
            + f'<td class="num" data-value="{esc(repr(r.single_mean))}">{_pm(r.single_mean, r.single_hw)}</td>'
            + _td(r.curriculum_n, "num", "d")
            + f'<td class="num" data-value="{esc(repr(r.curriculum_mean))}">'
            + f"{_pm(r.curriculum_mean, r.curriculum_hw)}</td>"
            + _td(r.curriculum_best, "num")
            + _td(r.curriculum_best_trial)
            + f'<td class="num" data-value="{esc(repr(r.diff))}">'
            + _pm(r.diff, r.diff_hw, "+.4f")
            + "</td>"
            + _td(r.best_minus_single, "num", "+.4f")
            + f'<td class="{vcls.strip()}">{esc(v)}</td>'
            + "</tr>"
        )
    return f'<table class="answer">{head}<tbody>{"".join(rows)}</tbody></table>'


def _headline(summary: pd.DataFrame) -> str:
    """One sentence: at how many sparsity levels the curriculum mean beats single-task."""
    if summary.empty:
        return ""
    v = summary["verdict"]
    better = int(v.str.startswith("curriculum better").sum())
    worse = int(v.str.startswith("curriculum worse").sum())
    noise = int(v.str.startswith("within seed noise").sum())
    short = int(v.str.startswith("not enough").sum())
    parts = [f"better outside seed noise at <b>{better}</b>", f"worse at <b>{worse}</b>",
             f"within noise at <b>{noise}</b>"]  # fmt: skip
    if short:
        parts.append(f"not enough trials at <b>{short}</b>")
    return (
        f'<p class="headline">Curriculum (mean over its trials) vs single-task, over {len(summary)} '
        f"sparsity level{'s' if len(summary) != 1 else ''}: " + ", ".join(parts) + ".</p>"
    )


TRIAL_TABLE = (
    ("trial_id", "trial", "str", None),
    ("status", "status", "str", None),
    ("arm", "arm", "str", None),
    ("sparsity", "sparsity", "num", ".4g"),
    ("seed", "seed", "num", "d"),
    ("pacing", "pacing", "str", None),
    ("ordering", "ordering", "str", None),
    ("lr", "lr", "num", ".2e"),
    ("epochs_done", "epochs", "num", "d"),
    ("final_clip_score", "final CLIP", "num", ".4f"),
    ("best_clip_score", "best CLIP", "num", ".4f"),
    ("error", "error", "str", None),
)


def _trials_table(trials: pd.DataFrame) -> str:
    spec = list(TRIAL_TABLE)
    if "weighting" in trials.columns:
        spec.insert(7, ("weighting", "weighting", "str", None))
    for m in F.companion_metrics(trials):
        spec.insert(-1, (f"final/{m}", m, "num", ".4f"))
    head = "".join(f"<th{' class=num' if kind == 'num' else ''}>{esc(label)}</th>" for _, label, kind, _ in spec)
    rows = []
    for rec in trials[[c for c, *_ in spec]].to_dict("records"):
        cells = []
        for col, _, kind, fmt in spec:
            v = rec[col]
            if col == "error" and not _is_missing(v):
                full = str(v)
                short = full if len(full) <= 300 else full[:300] + "…"
                cells.append(_td(short, cls="err", title=full))
            elif col == "sparsity" and not _is_missing(v):
                cells.append(f'<td class="num" data-value="{float(v)!r}">{esc(F.fmt_sparsity(v))}</td>')
            elif col == "status":
                cells.append(_td(v, cls=f"s-{v}" if v in STATUSES else ""))
            elif kind == "num":
                cells.append(_td(None if _is_missing(v) else (int(v) if fmt == "d" else float(v)), "num", fmt))
            else:
                cells.append(_td(v))
        key = esc(F.plot_text(rec["trial_id"]))
        rows.append(f'<tr data-trial="{key}">' + "".join(cells) + "</tr>")
    return (
        f'<div class="scroll"><table class="sortable trials"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _header(res: Results, generated: str) -> str:
    parts = [
        "<header>",
        f"<h1>Curriculum search report: {esc(res.run_name)}</h1>",
        f'<div class="muted small">run directory <code>{esc(str(res.run_dir))}</code> · '
        f"generated {esc(generated)}</div>",
        _status_badges(res.status_counts()),
        f'<p class="small">{esc(F.CLIP_SCORE_DEFINITION)}</p>',
        '<p class="small muted">Question: does curriculum multi-task learning improve image-text alignment '
        "(CLIP score on the held-out set) over single-task learning, at each data-sparsity level?</p>",
    ]
    for n in res.notes:
        parts.append(f'<div class="warn small">{esc(n)}</div>')
    if res.experiment_yaml is not None:
        parts.append(
            f"<details><summary>experiment.yaml (as run)</summary><pre>{esc(res.experiment_yaml)}</pre></details>"
        )
    parts.append(
        '<nav class="small"><a href="#answer">1. The answer</a><a href="#choices">2. Curriculum choices</a>'
        '<a href="#dynamics">3. Dynamics</a><a href="#search">4. Search</a><a href="#trials">5. Trials</a></nav>'
    )
    parts.append("</header>")
    return "\n".join(parts)


def _fig_or_note(fig_fn, note: str) -> str:
    return _fig_html(fig_fn()) if note == "" else f'<p class="small muted">{esc(note)}</p>'


def _other_arms_table(summ: pd.DataFrame) -> str:
    """Per level, every arm beyond single-task and curriculum (e.g. shuffled_control) vs single-task."""
    extra = summ[~summ["arm"].isin([F.BASELINE_ARM, "curriculum"])] if not summ.empty else summ
    if extra.empty:
        return ""
    rows = []
    for r in extra.itertuples():
        vcls = "verdict " + ("better" if " better " in r.verdict else "worse" if " worse " in r.verdict else "")
        rows.append(
            "<tr>"
            + f'<td class="num" data-value="{r.sparsity!r}">{esc(F.fmt_sparsity(r.sparsity))}</td>'
            + _td(r.arm)
            + _td(r.n, "num", "d")
            + f'<td class="num" data-value="{esc(repr(r.mean))}">{_pm(r.mean, r.hw)}</td>'
            + f'<td class="num" data-value="{esc(repr(r.diff))}">{_pm(r.diff, r.diff_hw, "+.4f")}</td>'
            + f'<td class="{vcls.strip()}">{esc(r.verdict)}</td></tr>'
        )
    return (
        "<h3>Other arms vs single-task</h3>"
        '<table class="sortable arms"><thead><tr><th class=num>sparsity</th><th>arm</th><th class=num>n</th>'
        "<th class=num>mean ± 95% CI</th><th class=num>diff vs single-task ± 95% CI</th><th>verdict</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _best_orderings_table(best: pd.DataFrame) -> str:
    if best.empty:
        return ""
    rows = "".join(
        "<tr>"
        + _td(r.ordering)
        + _td(r.n, "num", "d")
        + _td(r.levels)
        + _td(r.mean_vs_level, "num", "+.4f")
        + _td(r.best, "num")
        + _td(r.best_trial)
        + "</tr>"
        for r in best.itertuples()
    )
    return (
        "<h3>Best task orderings</h3>"
        '<table class="sortable orderings"><thead><tr><th>ordering (first > … > last)</th><th class=num>trials</th>'
        "<th>levels</th><th class=num>mean CLIP score vs its level's mean</th><th class=num>best CLIP score</th>"
        f"<th>best trial</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _errors_table(errs: pd.DataFrame) -> str:
    if errs.empty:
        return '<p class="small muted">No trial errored.</p>'
    rows = "".join(
        f'<tr><td class="err">{esc(r.error)}</td>{_td(r.n, "num", "d")}{_td(r.trial_ids)}</tr>'
        for r in errs.itertuples()
    )
    return (
        "<h3>Error reasons</h3>"
        '<table class="errors"><thead><tr><th>error (last line of the trial\'s error.txt)</th>'
        f"<th class=num>trials</th><th>trial ids</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _sections(res: Results) -> list[str]:
    t, e = res.trials, res.epochs
    out: list[str] = []
    fig = _fig_html

    # 1. The answer
    out.append('<section id="answer"><h2>1. The answer: curriculum vs single-task, per sparsity level</h2>')
    done = F.answer_trials(t)
    if done.empty:
        out.append('<div class="note">No completed trials yet: the answer appears once trials finish.</div>')
    else:
        summary = F.answer_summary(t)
        out.append(_headline(summary))
        out.append(fig(F.answer_figure(t)))
        out.append(_answer_table(summary))
        out.append(
            '<p class="small muted">Completed trials only (pruned trials are shown under Dynamics and '
            "Trials). Means use each trial's final-epoch CLIP score; intervals are 95% Student-t over "
            "the trials at that level (no interval when n = 1). The difference uses a Welch interval; "
            "“outside seed noise” means its 95% interval excludes zero. The curriculum mean averages "
            "over every configuration the search tried; the best trial is what a search would pick, and "
            "is optimistic because it is selected on the same held-out score. The untrained model "
            "(grey dash) is the CLIP score before any training.</p>"
        )
        arms = F.arm_summary(t)
        out.append(fig(F.difference_figure(t)))
        out.append(_other_arms_table(arms))
        companions = F.companion_metrics(t)
        if companions:
            out.append(fig(F.companion_figure(t, companions)))
    out.append("</section>")

    # 2. Curriculum choices
    out.append('<section id="choices"><h2>2. Curriculum choices</h2>')
    curr = done[done["arm"] == "curriculum"] if not done.empty else done
    if curr.empty:
        out.append('<div class="note">No completed curriculum trials yet.</div>')
    else:
        out.append("<h3>Pacing function</h3>")
        out.append(fig(F.pacing_figure(t)))
        out.append("<h3>Task ordering</h3>")
        out.append(fig(F.ordering_figure(t)))
        out.append(fig(F.ordering_heatmap(t)))
        out.append(_best_orderings_table(F.best_orderings(t)))
        out.append("<h3>Loss weighting</h3>")
        if "weighting" in t.columns and curr["weighting"].nunique() > 1:
            out.append(fig(F.choice_figure(t, "weighting", "weighting strategy")))
        else:
            used = sorted(curr["weighting"].dropna().unique()) if "weighting" in t.columns else []
            out.append(
                '<p class="small muted">One weighting strategy in this search '
                f"({esc(', '.join(map(str, used)) or 'not recorded')}): nothing to compare.</p>"
            )
        out.append("<h3>All searched parameters</h3>")
        params = F.param_columns(t)
        if len(params) >= 2:
            out.append(fig(F.params_figure(t)))
        else:
            out.append(
                '<p class="small muted">Parallel coordinates skipped: fewer than 2 searched '
                f"<code>param/*</code> columns vary ({esc(', '.join(params) or 'none')}).</p>"
            )
    out.append("</section>")

    # 3. Dynamics
    out.append('<section id="dynamics"><h2>3. Dynamics</h2>')
    if e.empty:
        out.append('<div class="note">No per-epoch records yet.</div>')
    else:
        out.append(fig(F.clip_dynamics_figure(e, t)))
        if F.loss_tasks(e):
            out.append(fig(F.loss_figure(e, t)))
        sched = F.schedule_figure(e, t)
        if sched.data:
            src = (sched.layout.meta or {}).get("schedule_source", "")
            out.append(fig(sched))
            out.append(f'<p class="small muted">Schedule source: {esc(src)}. At most 40 trials, best first.</p>')
        out.append(fig(F.data_fraction_figure(e, t)))
    out.append("</section>")

    # 4. Search
    out.append('<section id="search"><h2>4. Search</h2>')
    if t.empty:
        out.append('<div class="note">No trials recorded yet.</div>')
    else:
        imp, note = S.param_importances(t)
        if imp.empty:
            out.append(f'<p class="small muted">Parameter importances not shown: {esc(note)}.</p>')
        else:
            out.append(fig(S.importance_figure(imp, note)))
            out.append(f'<p class="small muted">{esc(note)}</p>')
        if ((t["arm"] == "curriculum") & t["final_clip_score"].notna()).any():
            out.append(fig(S.history_figure(t)))
        else:
            out.append('<p class="small muted">Optimisation history: no curriculum trial has reported a CLIP '
                       "score yet.</p>")  # fmt: skip
        objs = S.objectives(res.experiment)
        if len(objs) >= 2:
            out.append(fig(S.pareto_figure(t, objs)))
        else:
            metric = objs[0][0] if objs else "clip_score"
            out.append(
                f'<p class="small muted">Single-objective search (metric: {esc(metric)}): no Pareto front. '
                "A search with several objectives (<code>search.metrics</code> in experiment.yaml) gets one "
                "here.</p>"
            )
        out.append(fig(S.status_figure(t)))
        out.append(_errors_table(S.error_reasons(t)))
    out.append("</section>")

    # 5. Trials
    out.append('<section id="trials"><h2>5. Trials</h2>')
    if t.empty:
        out.append('<div class="note">No trials recorded yet.</div>')
    else:
        out.append(_status_badges(res.status_counts()))
        out.append(
            '<p class="small muted">Click a column header to sort. Hover a row (or any point in a figure) '
            "to see that trial's full configuration.</p>"
        )
        out.append(_trials_table(t))
    out.append("</section>")
    return out


def _json_safe(v: object) -> object:
    if isinstance(v, dict):
        return {str(k): _json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_safe(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _trial_configs(trials: pd.DataFrame) -> str:
    """Every trial's full configuration, keyed by the (escaped) id the figures' hover data carry,
    as JSON safe inside a <script type="application/json"> element."""
    configs = {}
    for tid, cfg, status in zip(trials["trial_id"], trials["config_json"], trials["status"]):
        c = clean_config(cfg)
        configs[F.plot_text(tid)] = {"trial_id": str(tid), "status": status, "config": c}
    text = json.dumps(_json_safe(configs), sort_keys=True, default=str, allow_nan=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def render_html(res: Results, generated: str | None = None) -> str:
    """The whole page as a string (``build_report`` writes it)."""
    generated = generated or datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if res.empty:
        body = [
            '<div class="note"><b>No results yet.</b> Neither <code>trials.parquet</code> nor '
            "<code>epochs.parquet</code> has any rows in this run directory; the search may still be "
            "starting. Rebuild the report once trials have been recorded.</div>"
        ]
    else:
        body = _sections(res)
    has_figs = any('class="card figure"' in b for b in body)
    plotly_js = f'<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script>' if has_figs else ""
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(res.run_name)} · curriclip report</title>"
        f"<style>{CSS}</style>{plotly_js}</head>\n<body><main>\n"
        + _header(res, generated)
        + "\n"
        + "\n".join(body)
        + "\n</main>\n"
        + _inspector(res)
        + f"<script>{SORT_JS}{'' if res.trials.empty else INSPECT_JS}</script></body></html>\n"
    )
    return page


def _inspector(res: Results) -> str:
    """The trial inspector: a floating panel showing the full configuration of the trial under
    the mouse (figure point or table row), with the configurations as inert JSON data."""
    if res.trials.empty:
        return ""
    return (
        '<aside id="inspector" hidden><div class="insp-head"><b id="insp-title"></b>'
        '<button type="button" id="insp-close" title="close">×</button></div>'
        '<div class="small muted">full configuration (click a point to pin)</div><pre id="insp-body"></pre></aside>'
        f'<script type="application/json" id="trial-configs">{_trial_configs(res.trials)}</script>\n'
    )


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def build_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the run's HTML report (default ``RUN_DIR/report.html``) and return its path."""
    run_dir = Path(run_dir)
    out_path = Path(out) if out is not None else run_dir / "report.html"
    page = render_html(load_results(run_dir))
    _atomic_write(out_path, page)
    return out_path
