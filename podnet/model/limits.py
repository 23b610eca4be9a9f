"""How much input podnet accepts, so that a hostile or mistaken input fails fast.

The largest benchmark input (``bench/gen.py``: 150,000 pods, 5,000 namespaces, 10,000
policies) is 9.1 MB of JSON (9.9 MB as YAML), 626,000 values, nested 10 levels deep: every
limit here admits it many times over. README.md ("Limits") states them for users.
"""

from __future__ import annotations

MiB = 1 << 20

# Bytes read from one file or from stdin (at most one more byte is read to know it is more).
MAX_FILE_BYTES = 128 * MiB
# Bytes read from every -f together.
MAX_TOTAL_BYTES = 512 * MiB
# Without aliases a file holds at most about one value per byte of its text; anchors and
# aliases may add this many more before the file is refused as an alias bomb ("billion
# laughs": PyYAML shares the aliased structure, so the blow-up comes later, when it is walked).
ALIAS_ALLOWANCE = 1_000_000
# Containers nested deeper than this are refused: real manifests nest about 10 levels (a CRD's
# schema perhaps 40), and the model's recursive readers would exhaust Python's stack near 400.
MAX_DEPTH = 100


def mib(n: int) -> str:
    return f"{n // MiB} MiB" if n % MiB == 0 else f"{n:,} bytes"
