"""What the analyzer expects the kernel to do, and the comparison with what the lab observed.

Pure and typed: the lab runs the probes, the CLI formats; the expectations and the verdict of
the comparison live here, testable without root."""
