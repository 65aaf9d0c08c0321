"""Ingesters on small fixture trees built in the real layouts, and every bad-input case."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from curriclip.cli import app
from curriclip.data.ingest.text import split_sections
from curriclip.data.loader import load_split
from curriclip.data.store import read_manifest

runner = CliRunner()
REPORT = """                                 FINAL REPORT
 EXAMINATION:  CHEST (PA AND LAT)

 INDICATION:  History: F with cough

 COMPARISON:  None.

 FINDINGS:

 The heart is mildly enlarged.  There is a small left pleural effusion.
 No pneumothorax.

 IMPRESSION:

 Mild cardiomegaly and small left effusion.
"""


def _image(path: Path, seed: int, size=(40, 32)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 255, size, dtype=np.uint8)
    Image.fromarray(pixels).save(path)


def _gz_csv(df: pd.DataFrame, path: Path) -> None:
    with gzip.open(path, "wt") as f:
        df.to_csv(f, index=False)


def _invoke(args):
    result = runner.invoke(app, ["data", *args], catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture
def mimic_tree(tmp_path):
    images, reports = tmp_path / "mimic-cxr-jpg", tmp_path / "mimic-cxr-reports"
    rows, labels = [], []
    subjects = [f"100000{i:02d}" for i in range(6)]
    for k, subject in enumerate(subjects):
        study = f"5{k:07d}"
        split = ["train", "train", "train", "validate", "test", "test"][k]
        for view, dicom in (("PA", f"d{k}a"), ("LATERAL", f"d{k}b")):
            _image(images / "files" / f"p{subject[:2]}" / f"p{subject}" / f"s{study}" / f"{dicom}.jpg", k)
            rows.append({"dicom_id": dicom, "study_id": study, "subject_id": subject, "split": split, "view": view})
        report = reports / "files" / f"p{subject[:2]}" / f"p{subject}" / f"s{study}.txt"
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(REPORT)
        labels.append(
            {
                "subject_id": subject,
                "study_id": study,
                "Cardiomegaly": "1.0",
                "Pleural Effusion": "-1.0",
                "Pneumothorax": "0.0",
            }
        )
    df = pd.DataFrame(rows)
    _gz_csv(df[["dicom_id", "study_id", "subject_id", "split"]], images / "mimic-cxr-2.0.0-split.csv.gz")
    _gz_csv(
        df.rename(columns={"view": "ViewPosition"})[["dicom_id", "subject_id", "study_id", "ViewPosition"]],
        images / "mimic-cxr-2.0.0-metadata.csv.gz",
    )
    from curriclip.data.ingest.mimic_cxr import CHEXPERT_COLUMNS

    chexpert = pd.DataFrame(labels).reindex(columns=["subject_id", "study_id", *CHEXPERT_COLUMNS])
    _gz_csv(chexpert, images / "mimic-cxr-2.0.0-chexpert.csv.gz")
    return images, reports


def test_report_sections():
    findings, impression = split_sections(REPORT)
    assert findings == "The heart is mildly enlarged. There is a small left pleural effusion. No pneumothorax."
    assert impression == "Mild cardiomegaly and small left effusion."
    assert split_sections("no headers at all") == (None, None)


def test_mimic_cxr_layout(mimic_tree, tmp_path):
    images, reports = mimic_tree
    out = tmp_path / "ds"
    code, output = _invoke(
        ["mimic-cxr", "--images", str(images), "--reports", str(reports), "--out", str(out), "--image-size", "32"]
    )
    assert code == 0, output
    manifest = read_manifest(out)
    assert manifest["counts"]["train"]["samples"] == 3  # frontal (PA) views only, official split
    assert manifest["counts"]["validate"]["samples"] == 1 and manifest["counts"]["test"]["samples"] == 2
    assert manifest["label_names"][1] == "cardiomegaly"
    train = load_split(str(out), "train")
    assert train.images.shape == (3, 32, 32)
    assert set(train.sample_ids) == {"d0a", "d1a", "d2a"}
    assert train.texts[0].startswith("The heart is mildly enlarged.")
    assert "History" not in train.texts[0] and "INDICATION" not in train.texts[0]
    assert train.labels[0, 1] == 1 and train.labels[0, 9] == -1 and train.labels[0, 12] == 0
    assert bool(train.labels[0, 0].isnan())
    # privacy: the command prints counts and paths, never report text
    assert "enlarged" not in output


def test_mimic_missing_label_file_and_column(mimic_tree, tmp_path):
    images, reports = mimic_tree
    (images / "mimic-cxr-2.0.0-chexpert.csv.gz").unlink()
    code, output = _invoke(
        ["mimic-cxr", "--images", str(images), "--reports", str(reports), "--out", str(tmp_path / "ds")]
    )
    assert code == 2 and "mimic-cxr-2.0.0-chexpert.csv.gz: MIMIC-CXR chexpert label file not found" in output
    _gz_csv(pd.DataFrame({"dicom_id": ["x"]}), images / "mimic-cxr-2.0.0-split.csv.gz")
    code, output = _invoke(
        [
            "mimic-cxr",
            "--images",
            str(images),
            "--reports",
            str(reports),
            "--out",
            str(tmp_path / "ds"),
            "--labeler",
            "negbio",
        ]
    )
    assert code == 2 and "missing column(s) study_id, subject_id, split" in output
    assert not (tmp_path / "ds").exists()


def test_iu_xray_kaggle_and_r2gen(tmp_path):
    imgs = tmp_path / "images"
    reports = pd.DataFrame(
        {
            "uid": [1, 2, 3, 4],
            "MeSH": ["normal", "Cardiomegaly", "x", "y"],
            "Problems": ["normal", "Cardiomegaly;Pleural Effusion", "Nodule", "Opacity"],
            "image": ["a", "b", "c", "d"],
            "indication": [""] * 4,
            "comparison": [""] * 4,
            "findings": ["The lungs are clear.", "Enlarged heart.", "Nodule in the right lung.", ""],
            "impression": ["Normal chest.", "Cardiomegaly with effusion.", "Nodule.", "Opacity."],
        }
    )
    reports.to_csv(tmp_path / "indiana_reports.csv", index=False)
    proj = []
    for uid in range(1, 5):
        for k, p in ((1, "Frontal"), (2, "Lateral")):
            name = f"{uid}_IM-000{uid}-{k}001.dcm.png"
            _image(imgs / name, uid * 10 + k)
            proj.append({"uid": uid, "filename": name, "projection": p})
    pd.DataFrame(proj).to_csv(tmp_path / "indiana_projections.csv", index=False)
    out = tmp_path / "iu"
    code, output = _invoke(
        [
            "iu-xray",
            "--reports",
            str(tmp_path / "indiana_reports.csv"),
            "--projections",
            str(tmp_path / "indiana_projections.csv"),
            "--images",
            str(imgs),
            "--out",
            str(out),
            "--image-size",
            "32",
        ]
    )
    assert code == 0, output
    counts = read_manifest(out)["counts"]
    assert sum(c["samples"] for c in counts.values()) == 4  # frontal only
    rows = pd.concat([pd.read_parquet(p) for p in sorted(out.glob("part-*.parquet"))])
    row2 = rows[rows["subject_id"] == "iu2"].iloc[0]
    assert list(row2["labels"])[:2] == [1, 1] and row2["impression"] == "Cardiomegaly with effusion."
    assert list(rows[rows["subject_id"] == "iu1"].iloc[0]["labels"]) == [0] * 9

    annotation = {
        "train": [
            {"id": "CXR1_IM-0001", "report": "Heart normal.", "image_path": ["CXR1_IM-0001/0.png"], "split": "train"}
        ],
        "val": [{"id": "CXR2_IM-0002", "report": "Clear lungs.", "image_path": ["CXR2_IM-0002/0.png"], "split": "val"}],
        "test": [
            {"id": "CXR3_IM-0003", "report": "Small effusion.", "image_path": ["CXR3_IM-0003/0.png"], "split": "test"}
        ],
    }
    for entry in sum(annotation.values(), []):
        _image(imgs / entry["image_path"][0], 7)
    (tmp_path / "annotation.json").write_text(json.dumps(annotation))
    code, output = _invoke(
        [
            "iu-xray",
            "--annotation",
            str(tmp_path / "annotation.json"),
            "--images",
            str(imgs),
            "--out",
            str(tmp_path / "r2gen"),
            "--image-size",
            "32",
        ]
    )
    assert code == 0, output
    counts = read_manifest(tmp_path / "r2gen")["counts"]
    assert [counts[s]["samples"] for s in ("train", "validate", "test")] == [1, 1, 1]


def _csv_tree(tmp_path, n=12, changes=None):
    rows = []
    for i in range(n):
        _image(tmp_path / "img" / f"{i}.png", i)
        rows.append(
            {
                "path": f"img/{i}.png",
                "text": f"Report {i}.",
                "id": f"s{i}",
                "patient": f"p{i // 2}",
                "Edema": "1" if i % 3 == 0 else "0",
            }
        )
    df = pd.DataFrame(rows)
    for (row, col), value in (changes or {}).items():
        df.loc[row, col] = value
    df.to_csv(tmp_path / "table.csv", index=False)
    return tmp_path / "table.csv"


def _csv_args(table, out, *extra):
    return [
        "csv",
        "--table",
        str(table),
        "--image-col",
        "path",
        "--text-col",
        "text",
        "--label-cols",
        "Edema",
        "--id-col",
        "id",
        "--subject-col",
        "patient",
        "--out",
        str(out),
        "--image-size",
        "16",
        *extra,
    ]


def test_csv_table_with_patient_split(tmp_path):
    out = tmp_path / "ds"
    code, output = _invoke(_csv_args(_csv_tree(tmp_path), out))
    assert code == 0, output
    tables = pd.concat([pd.read_parquet(p) for p in out.glob("part-*.parquet")])
    assert len(tables) == 12 and tables.groupby("subject_id")["split"].nunique().max() == 1
    assert read_manifest(out)["label_names"] == ["edema"]


@pytest.mark.parametrize(
    "changes, corrupt, expected, skipped",
    [
        ({(3, "path"): "img/missing.png"}, False, "1 missing images: s3", {"missing images": 1}),
        ({}, True, "1 corrupt images: s5", {"corrupt images": 1}),
        ({(4, "text"): ""}, False, "1 empty reports: s4", {"empty reports": 1}),
        ({(2, "id"): "s1"}, False, "2 rows with duplicate sample ids: s1 (x2)", {"rows with duplicate sample ids": 2}),
        ({(6, "Edema"): "2"}, False, "1 unknown label values: s6", {"unknown label values": 1}),
    ],
)
def test_csv_bad_input_named_by_id_and_skippable(tmp_path, changes, corrupt, expected, skipped):
    table = _csv_tree(tmp_path, changes=changes)
    if corrupt:
        (tmp_path / "img" / "5.png").write_bytes(b"not an image at all")
    out = tmp_path / "ds"
    code, output = _invoke(_csv_args(table, out))
    assert code == 2 and expected in output and "--skip-bad" in output
    assert output.startswith(f"curriclip: error: {table}: ")  # the user's table, not the ingester's name
    assert "Report" not in output  # ids, never report content
    assert not out.exists() and not list(tmp_path.glob(".ds.tmp-*"))  # no partial dataset
    code, output = _invoke(_csv_args(table, out, "--skip-bad"))
    assert code == 0, output
    ingest = read_manifest(out)["ingest"]
    assert ingest["skipped"] == skipped and ingest["kept"] == 12 - sum(skipped.values())
    rows = pd.concat([pd.read_parquet(p) for p in out.glob("part-*.parquet")])
    assert len(rows) == ingest["kept"]


def test_split_leak_and_missing_column(tmp_path):
    table = _csv_tree(tmp_path)
    df = pd.read_csv(table)
    df["split"] = ["train", "test"] * 6  # p0's two studies land in two splits
    df.to_csv(table, index=False)
    code, output = _invoke([*_csv_args(table, tmp_path / "ds"), "--split-col", "split"])
    assert code == 2 and "patients in more than one split: p0" in output
    code, output = _invoke(
        ["csv", "--table", str(table), "--image-col", "nope", "--text-col", "text", "--out", str(tmp_path / "ds")]
    )
    assert code == 2 and "missing column(s) nope" in output


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_ray_data_path_gives_the_same_dataset(tmp_path):
    table = _csv_tree(tmp_path, n=20)
    assert _invoke(_csv_args(table, tmp_path / "local", "--no-ray"))[0] == 0
    code, output = _invoke(_csv_args(table, tmp_path / "ray", "--ray"))
    assert code == 0, output
    import ray

    ray.shutdown()
    local = pd.concat([pd.read_parquet(p) for p in sorted((tmp_path / "local").glob("part-*.parquet"))])
    distributed = pd.concat([pd.read_parquet(p) for p in sorted((tmp_path / "ray").glob("part-*.parquet"))])
    assert local["image"].tolist() == distributed["image"].tolist()
    assert local["sample_id"].tolist() == distributed["sample_id"].tolist()


def test_an_ingested_directory_trains(tmp_path):
    from conftest import tiny_trial

    from curriclip.config import TrialConfig
    from curriclip.data.sources import resolve
    from curriclip.trainables import run_trial

    table = _csv_tree(tmp_path, n=40)
    df = pd.read_csv(table)
    df["split"] = ["train"] * 30 + ["test"] * 10
    df["patient"] = [f"p{i}" for i in range(40)]
    df.to_csv(table, index=False)
    out = tmp_path / "ds"
    assert _invoke([*_csv_args(table, out), "--split-col", "split"])[0] == 0
    path = resolve("dir", path=str(out))
    reports = []
    cfg = tiny_trial(path, arm="single_task", tasks=["itc"], pacing="none", pacing_params={}, epochs=1)
    run_trial(TrialConfig.model_validate(cfg), lambda m, s: reports.append(m))
    # no validate split: the search phase evaluates on 15% of the training patients, carved out of train
    assert reports[0]["split_evaluated"] == "validate" and reports[0]["test_pairs"] in (4, 5)
    assert reports[0]["train_pairs"] + reports[0]["test_pairs"] == 30
    run_trial(TrialConfig.model_validate({**cfg, "phase": "confirm"}), lambda m, s: reports.append(m))
    assert reports[1]["split_evaluated"] == "test" and reports[1]["test_pairs"] == 10
    assert reports[1]["train_pairs"] == reports[0]["train_pairs"]  # both phases train on the same rows


@pytest.mark.parametrize(("peak", "bits"), [(65535, 16), (4095, 12)])
def test_deep_pngs_are_scaled_by_bit_depth_not_clipped(tmp_path, peak, bits):
    """A 16-bit radiograph (or a 12-bit one in a 16-bit PNG) keeps its grey levels: a full ramp averages mid-grey."""
    from curriclip.data.ingest.images import decode

    ramp = np.tile(np.linspace(0, peak, 256).round().astype(np.uint16), (256, 1))
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode.startswith("I;16")
    pixels = decode(tmp_path / "deep.png", 64)
    assert pixels.mean() == pytest.approx(127.5, abs=1.0)
    assert (pixels == 255).mean() < 0.05  # not saturated (convert("L") left 99.6% at 255)
    assert pixels[:, -1].min() >= 250 and pixels[:, 0].max() <= 5  # the ramp's ends map to black and white
