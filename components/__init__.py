"""Container components: a typed spec, artifact types and one in-container runtime for every pipeline stage."""

from components.artifacts import ArtifactError, ArtifactType
from components.context import RunContext
from components.definition import Component
from components.spec import ComponentKind, ComponentSpec, InputSpec, OutputSpec, load_component

__all__ = [
    "ArtifactError",
    "ArtifactType",
    "Component",
    "ComponentKind",
    "ComponentSpec",
    "InputSpec",
    "OutputSpec",
    "RunContext",
    "load_component",
]
