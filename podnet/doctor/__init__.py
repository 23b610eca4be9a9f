"""What podnet finds wrong, in one shape (``finding``), one module per concern; pure: the host's
numbers come in as readings from ``podnet.host``."""
