"""The run directory, below both phases: where a run lives and how its files are written and read.

``storage`` reaches a local directory or an object store, ``atomic`` writes whole files
or nothing, ``reading`` reads a run's stored experiment, ``launch`` fits Ray Tune trials
to the cluster, ``export`` turns Ray Tune's records into Parquet and ``progress`` prints
one line per finished trial. The search and confirm phases both stand on it, so neither
needs the other.
"""
