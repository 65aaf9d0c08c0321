"""Synthetic chest-X-ray-like images with radiology reports and exact ground truth.

Why synthetic: a curriculum search needs a benchmark where the truth is known per
sample (which findings are in the image, how subtle they are, whether the report
hedges) and that any machine can regenerate in seconds, byte for byte. Real
datasets give none of that; this generator gives all of it, and writes the same
Arrow schema as every real source (:func:`curriclip.data.schema.schema_with_labels`).

Image convention (stated once, used everywhere): images are displayed the way
radiographs are read, *as if facing the patient*. Image column 0 is the patient's
RIGHT; the patient's LEFT is on the viewer's right. So the heart, which sits to the
patient's left, lies right of the image centre, the left hemidiaphragm is the lower
one, and a "left pleural effusion" fills the lower RIGHT part of the image. Row 0 is
the top (apex side). Internally all geometry is drawn in "world" coordinates
``U`` (-1 left edge .. +1 right edge of the image) and ``V`` (-1 top .. +1 bottom),
which a per-sample similarity transform (small rotation, shift, magnification) maps
onto the pixel grid (:mod:`.frame`). Every shape is a soft-edged quadratic evaluated on
the whole sub-batch at once, and findings that only some samples have are drawn on the
rows that have them: that is what makes ~1,800 samples/s on one core possible without
per-pixel Python (with every finding's mask).

Labels use the CheXpert encoding and are generated together with the report, so they
always agree with it: 1 for a finding stated as present, -1 when the report hedges
(only for findings that ARE in the image, and only mild ones), 0 when the report
explicitly negates it, null when the report does not mention it. A report never states
something the image does not show.

The package:

* :mod:`.findings`: one module per finding (``DEFAULT_LABEL_NAMES``, in order), each with
  how it is drawn and marked, how hard it is, and its report phrases as tables;
* :mod:`.sampling`: the per-chunk parameters (prevalence, co-occurrence, anatomy);
* :mod:`.render` (with :mod:`.frame`, :mod:`.scene`, :mod:`.textures`): the images and masks;
* :mod:`.report`: the report writer; :mod:`.difficulty`: the difficulty column;
* :mod:`.generator`: chunks as Arrow batches; :mod:`.cases`: one chosen case.
"""

from __future__ import annotations

from curriclip.data.synthetic.cases import Case, render_case
from curriclip.data.synthetic.codes import CHUNK_SIZE, FINDINGS, GENERATOR_VERSION, SEVERITIES, SIDES
from curriclip.data.synthetic.generator import generate_table, iter_batches

__all__ = [
    "CHUNK_SIZE",
    "Case",
    "FINDINGS",
    "GENERATOR_VERSION",
    "SEVERITIES",
    "SIDES",
    "generate_table",
    "iter_batches",
    "render_case",
]
