"""The pipelines this library ships, each a DAG built from its own components."""
