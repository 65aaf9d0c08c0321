"""Tests of the synthetic CXR generator: schema, determinism, splits, report/label
agreement, what findings do to the image, and the difficulty score.

The report checks use their own small vocabulary (not the generator's phrase
tables), so a phrasing change that breaks label/text agreement fails here.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pytest

from curriclip.data.schema import DEFAULT_LABEL_NAMES, SPLITS, schema_with_labels
from curriclip.data.synthetic import FINDINGS, generate_table, render_case

SMALL = 16  # px: enough for everything except image-content checks, and fast


@pytest.fixture(scope="module")
def table() -> pa.Table:
    return generate_table(1200, image_size=SMALL, seed=7)


def _labels(table: pa.Table) -> np.ndarray:
    """(N, 9) int array, null -> -2."""
    return np.array([[-2 if v is None else v for v in row] for row in table["labels"].to_pylist()])


def _images(table: pa.Table, size: int) -> np.ndarray:
    return np.frombuffer(b"".join(table["image"].to_pylist()), dtype=np.uint8).reshape(-1, size, size)


# --------------------------------------------------------------------------- schema


def test_schema_and_columns(table: pa.Table) -> None:
    assert table.schema.equals(schema_with_labels(DEFAULT_LABEL_NAMES), check_metadata=True)
    assert FINDINGS == DEFAULT_LABEL_NAMES
    assert table.num_rows == 1200
    rows = table.slice(0, 5).to_pylist()
    assert [r["sample_id"] for r in rows] == [f"syn-{i:06d}" for i in range(5)]
    assert all(re.fullmatch(r"p1\d{7}", s) for s in table["subject_id"].to_pylist())
    assert all(re.fullmatch(r"s5\d{7}", s) for s in table["study_id"].to_pylist())
    assert len(set(table["study_id"].to_pylist())) == table.num_rows
    assert set(table["source"].to_pylist()) == {"synthetic"}
    assert set(table["split"].to_pylist()) <= set(SPLITS)
    views = table["view"].to_pylist()
    assert set(views) == {"PA", "AP"} and views.count("PA") > views.count("AP")
    assert set(table["image_height"].to_pylist()) == {SMALL} == set(table["image_width"].to_pylist())
    assert {len(b) for b in table["image"].to_pylist()} == {SMALL * SMALL}
    assert table["masks"].null_count == 0
    assert {len(b) for b in table["masks"].to_pylist()} == {(len(FINDINGS) * SMALL * SMALL + 7) // 8}
    assert all(len(row) == len(FINDINGS) for row in table["labels"].to_pylist())
    assert set(_labels(table).ravel()) <= {-2, -1, 0, 1}
    assert table["findings"].null_count == 0 and table["impression"].null_count == 0
    difficulty = table["difficulty"].to_numpy()
    assert difficulty.dtype == np.float32 and difficulty.min() >= 0 and difficulty.max() <= 1


def test_empty_and_invalid_arguments() -> None:
    empty = generate_table(0)
    assert empty.num_rows == 0 and empty.schema.equals(schema_with_labels(DEFAULT_LABEL_NAMES))
    with pytest.raises(ValueError):
        generate_table(-1)
    with pytest.raises(ValueError):
        generate_table(10, image_size=8)
    with pytest.raises(ValueError):
        generate_table(10, split_fractions=(0.5, -0.1, 0.6))
    with pytest.raises(ValueError):
        render_case({"pneumonia": "large"})
    with pytest.raises(ValueError):
        render_case({"pneumothorax": ("large", "bilateral")})


# --------------------------------------------------------------------------- determinism


def test_deterministic_and_seed_dependent() -> None:
    a = generate_table(300, image_size=32, seed=3)
    b = generate_table(300, image_size=32, seed=3)
    c = generate_table(300, image_size=32, seed=4)
    assert a.equals(b)
    assert a["image"].to_pylist() == b["image"].to_pylist()
    assert a["findings"].to_pylist() == b["findings"].to_pylist()
    assert a["image"].to_pylist() != c["image"].to_pylist()
    assert a["findings"].to_pylist() != c["findings"].to_pylist()
    assert sum(x != y for x, y in zip(a["image"].to_pylist(), c["image"].to_pylist(), strict=True)) == 300


def test_longer_table_extends_shorter() -> None:
    """Sample i does not depend on n (except its split), even across a partial chunk."""
    short = generate_table(300, image_size=SMALL, seed=5)
    long = generate_table(700, image_size=SMALL, seed=5).slice(0, 300)
    for column in ("sample_id", "subject_id", "image", "findings", "impression", "labels", "difficulty", "view"):
        assert short[column].to_pylist() == long[column].to_pylist(), column


def test_progress_is_reported_per_chunk() -> None:
    calls: list[tuple[int, int]] = []
    generate_table(600, image_size=SMALL, seed=0, progress=lambda done, n: calls.append((done, n)))
    assert calls == [(256, 600), (512, 600), (600, 600)]


# --------------------------------------------------------------------------- splits


@pytest.mark.parametrize("fractions", [(0.8, 0.1, 0.1), (0.5, 0.25, 0.25)])
def test_splits_are_subject_disjoint_and_match_fractions(fractions: tuple[float, float, float]) -> None:
    t = generate_table(2000, image_size=SMALL, seed=1, split_fractions=fractions)
    split_of: dict[str, set[str]] = {}
    for subject, split in zip(t["subject_id"].to_pylist(), t["split"].to_pylist(), strict=True):
        split_of.setdefault(subject, set()).add(split)
    assert all(len(s) == 1 for s in split_of.values())
    studies_per_subject = np.bincount(np.unique(t["subject_id"].to_pylist(), return_counts=True)[1])
    assert studies_per_subject[1] > studies_per_subject[2] > studies_per_subject[3] > 0  # 1-3 studies each
    assert len(studies_per_subject) == 4
    splits = t["split"].to_pylist()
    for name, fraction in zip(SPLITS, fractions, strict=True):
        assert abs(splits.count(name) / len(splits) - fraction) < 0.01


def test_subject_traits_persist_across_studies() -> None:
    """Chronic findings (an enlarged heart, a nodule) belong to the subject."""
    t = generate_table(1500, image_size=SMALL, seed=2)
    labels = _labels(t)
    present = (labels == 1) | (labels == -1)
    by_subject: dict[str, list[int]] = {}
    for i, s in enumerate(t["subject_id"].to_pylist()):
        by_subject.setdefault(s, []).append(i)
    multi = [rows for rows in by_subject.values() if len(rows) > 1]
    for f in (FINDINGS.index("cardiomegaly"), FINDINGS.index("lung_nodule")):
        assert all(len({bool(present[i, f]) for i in rows}) == 1 for rows in multi)


# --------------------------------------------------------------------------- reports

# Independent vocabulary: what a reader would accept as a mention of each finding.
POSITIVE = {
    "cardiomegaly": (
        r"cardiomegaly|(cardiac silhouette|heart)( size)? is (\w+ ){0,2}enlarged"
        r"|enlarged cardiac silhouette"
    ),
    "pleural_effusion": r"effusion|pleural fluid",
    "pneumothorax": r"pneumothora",
    "consolidation": r"consolidation|airspace opacity",
    "lung_nodule": r"nodul",
    "atelectasis": r"atelectasis",
    "edema": r"edema|vascular congestion",
    "support_devices": r"\btubes?\b|catheter|central line|pacemaker|support devices",
    "fracture": r"fracture",
}
# Negations that do not start with "No": the normal-heart and intact-bones sentences.
IMPLICIT_NEGATION = {
    "cardiomegaly": r"heart size is normal|normal in size|within normal limits",
    "fracture": r"osseous",
}
HEDGE = r"possible|possibly|may represent|cannot be excluded|cannot exclude|questionable|borderline"
SIDE_WORDS = {"right": r"\bright\b", "left": r"\bleft\b", "bilateral": r"bilateral|bibasilar|\bboth\b"}
LATERAL = ("pleural_effusion", "pneumothorax", "consolidation", "lung_nodule", "atelectasis", "fracture")


def _classify(text: str, finding: str) -> tuple[list[str], list[str], bool]:
    """(definite positive sentences, hedged sentences, negated?) for one finding."""
    positive, hedged, negated = [], [], False
    for sentence in re.split(r"(?<=\.)\s+", text.lower()):
        implicit = finding in IMPLICIT_NEGATION and re.search(IMPLICIT_NEGATION[finding], sentence)
        if not re.search(POSITIVE[finding], sentence) and not implicit:
            continue
        if implicit or re.match(r"(no|there is no|there are no)\b", sentence):
            negated = True
        elif re.search(HEDGE, sentence):
            hedged.append(sentence)
        else:
            positive.append(sentence)
    return positive, hedged, negated


def test_labels_agree_with_report_text(table: pa.Table) -> None:
    labels = _labels(table)
    findings = table["findings"].to_pylist()
    impressions = table["impression"].to_pylist()
    seen = {v: 0 for v in (-2, -1, 0, 1)}
    for i in range(table.num_rows):
        text = findings[i] + " " + impressions[i]
        for f, name in enumerate(FINDINGS):
            positive, hedged, negated = _classify(text, name)
            label = labels[i, f]
            seen[label] += 1
            where = f"row {i}, {name}={label}: {text!r}"
            if label == 1:
                assert positive and not hedged and not negated, where
            elif label == -1:
                assert hedged and not positive and not negated, where
            elif label == 0:
                assert negated and not positive and not hedged, where
            else:
                assert not (positive or hedged or negated), where
    assert min(seen.values()) > 100  # all four label states are exercised


def test_present_findings_state_their_side() -> None:
    t = generate_table(1500, image_size=SMALL, seed=11)
    labels = _labels(t)
    texts = t["findings"].to_pylist()
    checked = 0
    for i, text in enumerate(texts):
        for name in LATERAL:
            f = FINDINGS.index(name)
            if labels[i, f] not in (1, -1):
                continue
            positive, hedged, _ = _classify(text, name)
            sentences = positive + hedged
            assert sentences and all(any(re.search(p, s) for p in SIDE_WORDS.values()) for s in sentences), (
                f"row {i}, {name}: {text!r}"
            )
            checked += 1
    assert checked > 100


def test_normal_studies_read_as_normal(table: pa.Table) -> None:
    labels = _labels(table)
    normal = ~((labels == 1) | (labels == -1)).any(axis=1)
    assert 0.3 < normal.mean() < 0.7
    impressions = np.array(table["impression"].to_pylist(), dtype=object)
    assert all(re.search(r"no acute", s.lower()) for s in impressions[normal])
    uncertain_rows = (labels == -1).any(axis=1)
    assert uncertain_rows.mean() > 0.05


def test_report_phrasing_varies(table: pa.Table) -> None:
    texts = table["findings"].to_pylist()
    assert len(set(texts)) > 0.5 * len(texts)
    text = " ".join(texts).lower()
    for phrase in (
        "no pneumothorax",
        "no pleural effusion",
        "cardiomegaly",
        "enlarged cardiac silhouette",
        "pleural fluid",
        "cannot be excluded",
        "may represent",
        "possible",
    ):
        assert phrase in text, phrase


def test_co_occurrence(table: pa.Table) -> None:
    labels = _labels(table)
    present = (labels == 1) | (labels == -1)
    f = {name: present[:, i] for i, name in enumerate(FINDINGS)}
    assert f["edema"][f["cardiomegaly"]].mean() > 2 * f["edema"][~f["cardiomegaly"]].mean()
    assert f["atelectasis"][f["pleural_effusion"]].mean() > 2 * f["atelectasis"][~f["pleural_effusion"]].mean()
    ap = np.array(table["view"].to_pylist()) == "AP"
    assert f["support_devices"][ap].mean() > 2 * f["support_devices"][~ap].mean()


# --------------------------------------------------------------------------- images

S = 64


def _zone(img: np.ndarray, rows: tuple[float, float], cols: tuple[float, float]) -> float:
    """Mean of a box given in fractions of the image (row 0 top, column 0 = patient's right)."""
    h, w = img.shape
    return float(img[int(rows[0] * h) : int(rows[1] * h), int(cols[0] * w) : int(cols[1] * w)].astype(float).mean())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_findings_change_the_expected_region(seed: int) -> None:
    normal = render_case({}, image_size=S, seed=seed).image
    # large cardiomegaly: the heart grows toward the patient's left = the viewer's right
    heart = render_case({"cardiomegaly": "large"}, image_size=S, seed=seed).image
    left_heart_border = ((0.55, 0.72), (0.66, 0.76))
    assert _zone(heart, *left_heart_border) > _zone(normal, *left_heart_border) + 30
    # large left effusion: the lower zone of the left lung (image right) turns bright, the right one doesn't
    effusion = render_case({"pleural_effusion": ("large", "left")}, image_size=S, seed=seed).image
    left_base, right_base = ((0.62, 0.74), (0.64, 0.84)), ((0.62, 0.74), (0.16, 0.36))
    assert _zone(effusion, *left_base) > _zone(normal, *left_base) + 20
    assert abs(_zone(effusion, *right_base) - _zone(normal, *right_base)) < 1
    # large right pneumothorax: the apex/lateral rim of the right lung (image left) turns darker
    ptx = render_case({"pneumothorax": ("large", "right")}, image_size=S, seed=seed).image
    right_apex = ((0.12, 0.32), (0.18, 0.30))
    assert _zone(ptx, *right_apex) < _zone(normal, *right_apex) - 8
    # every finding changes the image, more so when larger
    for name in FINDINGS:
        change = [
            np.abs(render_case({name: sev}, image_size=S, seed=seed).image.astype(int) - normal).sum()
            for sev in ("mild", "large")
        ]
        assert 0 < change[0] and (name == "support_devices" or change[0] < change[1]), name


@pytest.mark.parametrize("seed", [0, 3])
def test_masks_mark_where_each_finding_is_drawn(seed: int) -> None:
    normal = render_case({}, image_size=S, seed=seed)
    assert not normal.masks.any()  # a normal study: every mask empty
    for name in FINDINGS:
        case = render_case({name: "large"}, image_size=S, seed=seed)
        k = FINDINGS.index(name)
        others = np.delete(case.masks, k, axis=0)
        assert case.masks[k].any() and not others.any(), name  # only the drawn finding's mask is set
        changed = np.abs(case.image.astype(int) - normal.image.astype(int)) > 3
        # the mask lies where the image changed; except that the cardiomegaly mask is the whole enlarged
        # silhouette (its normal-sized core is unchanged) and the fracture mask is the site around the
        # break (rib and the space between ribs)
        least = {"cardiomegaly": 0.5, "fracture": 0.25}.get(name, 0.7)
        assert changed[case.masks[k]].mean() > least, name
    effusion = render_case({"pleural_effusion": ("large", "left")}, image_size=S, seed=seed).masks[1]
    rows, cols = np.nonzero(effusion)
    assert rows.mean() > 0.5 * S and cols.mean() > 0.5 * S  # the patient's left base = the image's lower right


def test_dataset_masks_agree_with_labels() -> None:
    from curriclip.data.mask_store import masks_from_column

    size = 64
    table = generate_table(600, image_size=size, seed=3)
    store = masks_from_column(table["masks"], len(FINDINGS), size, size, None, "test")
    masks = store[np.arange(table.num_rows)].numpy().reshape(table.num_rows, len(FINDINGS), -1)
    area = masks.sum(axis=2)
    present = np.isin(_labels(table), (1, -1))
    assert (area[~present] == 0).all()  # no mask for a finding the image does not have
    assert (area[present] > 0).mean() > 0.99  # and (almost: a finding hidden by another) always one where it does


def test_anatomy_layout() -> None:
    img = render_case({}, image_size=S, seed=0).image
    corners = np.concatenate([img[:4, :4].ravel(), img[-4:, -4:].ravel(), img[:4, -4:].ravel()])
    lung = _zone(img, (0.3, 0.5), (0.15, 0.35))
    abdomen = _zone(img, (0.85, 0.95), (0.3, 0.45))
    assert corners.mean() < lung < abdomen  # dark background, dark lungs in a brighter body
    ap = render_case({}, image_size=S, seed=0, view="AP").image
    assert ap.astype(float).std() < img.astype(float).std()  # AP films have lower contrast


def test_effusion_brightens_lung_bases_in_the_table() -> None:
    """Across real samples (varying anatomy and exposure), not just paired renders."""
    size = 32
    t = generate_table(1500, image_size=size, seed=0)
    labels = _labels(t)
    images = _images(t, size).astype(float)
    texts = [s.lower() for s in t["findings"].to_pylist()]
    eff = FINDINGS.index("pleural_effusion")
    normal = ~((labels == 1) | (labels == -1)).any(axis=1)
    big_left = np.array(
        [
            labels[i, eff] == 1 and re.search(r"(moderate|large)[\w-]* left", texts[i]) is not None
            for i in range(len(texts))
        ]
    )
    assert big_left.sum() >= 5

    def ratio(rows: np.ndarray) -> np.ndarray:  # lower-left-lung zone relative to the abdomen
        base = images[rows][:, int(0.62 * size) : int(0.74 * size), int(0.64 * size) : int(0.84 * size)]
        belly = images[rows][:, int(0.85 * size) : int(0.95 * size), int(0.3 * size) : int(0.7 * size)]
        return base.mean(axis=(1, 2)) / belly.mean(axis=(1, 2))

    assert ratio(big_left).mean() > ratio(normal).mean() + 0.15


# --------------------------------------------------------------------------- difficulty


def test_difficulty_tracks_subtlety() -> None:
    for name in FINDINGS:
        if name == "support_devices":
            continue
        mild = render_case({name: "mild"}, image_size=SMALL, seed=0).difficulty
        large = render_case({name: "large"}, image_size=SMALL, seed=0).difficulty
        assert mild > large, name
    assert render_case({}, image_size=SMALL, seed=0).difficulty < 0.25


def test_difficulty_in_table(table: pa.Table) -> None:
    labels = _labels(table)
    difficulty = table["difficulty"].to_numpy()
    present = (labels == 1) | (labels == -1)
    normal = ~present.any(axis=1)
    assert difficulty[normal].mean() < difficulty[~normal].mean()
    assert difficulty[(labels == -1).any(axis=1)].mean() > difficulty[~normal].mean()
    # more findings -> harder, on average
    many = present.sum(axis=1) >= 3
    one = present.sum(axis=1) == 1
    assert difficulty[many].mean() > difficulty[one].mean()
