"""The self-contained HTML report: ``data`` builds the page's data from a cluster (pure),
``render`` turns it into one HTML file with its styles and script inline."""

# The largest workload-by-workload matrix embedded (40,000 cells: the page stays a few MB and
# the table usable); past it, namespace by namespace. Here, not in ``data``, so the command
# line can show the default without importing the builder.
MAX_MATRIX_WORKLOADS = 200

# A matrix cell is CELL pixels square in report.js. Chromium draws no 2D canvas wider or
# taller than 32,767 px or larger than 268,435,456 px (MDN, <canvas>: maximum size), and an
# oversized one stays blank: a workload matrix that would exceed them is drawn namespace by
# namespace instead (the script also lowers the device pixel ratio to stay inside them).
CELL_PX = 18
CANVAS_MAX_SIDE = 32_767
CANVAS_MAX_AREA = 268_435_456


def canvas_fits(columns: int, rows: int) -> bool:
    """Whether a matrix of ``columns`` × ``rows`` cells fits a canvas at one pixel per CSS pixel."""
    w, h = columns * CELL_PX, rows * CELL_PX
    return max(w, h) <= CANVAS_MAX_SIDE and w * h <= CANVAS_MAX_AREA
