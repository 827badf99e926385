"""The synthetic demo dataset `make pipeline-run` trains on (needs the `video` and `demo` extras)."""
