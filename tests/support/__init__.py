"""Helpers the tests and the benchmarks share: real media, a small trained detector, a serving process, ports."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
