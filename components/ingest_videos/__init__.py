"""The ingest-videos stage: a dataset folder in any supported layout → a probed, labelled video manifest."""
