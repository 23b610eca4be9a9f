"""The self-contained HTML report: ``data`` builds the page's data from a cluster (pure),
``render`` turns it into one HTML file with its styles and script inline."""

# The largest workload-by-workload matrix embedded (40,000 cells: the page stays a few MB and
# the table usable); past it, namespace by namespace. Here, not in ``data``, so the command
# line can show the default without importing the builder.
MAX_MATRIX_WORKLOADS = 200
