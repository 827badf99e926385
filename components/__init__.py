"""Container components: a typed spec, artifact types and one in-container runtime for every pipeline stage."""

from deepfake.components.artifacts import ArtifactError, ArtifactType
from deepfake.components.context import RunContext
from deepfake.components.definition import Component
from deepfake.components.spec import ComponentKind, ComponentSpec, InputSpec, MetricSpec, OutputSpec, load_component

__all__ = [
    "ArtifactError",
    "ArtifactType",
    "Component",
    "ComponentKind",
    "ComponentSpec",
    "InputSpec",
    "MetricSpec",
    "OutputSpec",
    "RunContext",
    "load_component",
]
