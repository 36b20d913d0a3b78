"""Speed and memory benchmarks against PyTorch CPU (optional). Run with ``python -m benchmarks``."""
