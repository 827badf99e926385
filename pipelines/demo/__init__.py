"""The synthetic demo dataset `make pipeline-run` trains on (needs the `demo` extra: PyAV and scikit-image)."""
