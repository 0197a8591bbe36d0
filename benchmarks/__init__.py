"""Training-step benchmarks (``python benchmarks/run.py``): workloads, implementations, timing,
report, one module each."""
