"""Composition: the DAG API, the runners and the compilers."""

from deepfake.pipelines.dag import (
    Pipeline,
    PipelineDefinitionError,
    RetryPolicy,
    all_of,
    any_of,
    eq,
    ge,
    gt,
    le,
    lt,
)

__all__ = [
    "Pipeline",
    "PipelineDefinitionError",
    "RetryPolicy",
    "all_of",
    "any_of",
    "eq",
    "ge",
    "gt",
    "le",
    "lt",
]
