"""The self-contained HTML report: ``data`` builds the page's data from a cluster (pure),
``render`` turns it into one HTML file with its styles and script inline."""
