"""The BRATS family: brain-tumour MR slices (T1, T1c, T2, FLAIR) with nested region masks and reports.

``synth`` generates the offline simulated-tumour benchmark (BRATS itself used simulated
scans beside the real ones); ``ingest`` reads the BraTS 2020 training layout with
TextBraTS reports; ``regions`` holds what both share (the nested WT ⊃ TC ⊃ ET masks,
rater simulation, the inter-rater floor, rows in curriclip's schema).
"""
