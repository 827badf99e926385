"""The model registry: one interface (packages.py), a local implementation (local.py)."""

from deepfake.pipelines.registry.local import LocalRegistry
from deepfake.pipelines.registry.packages import ApprovalStatus, ModelPackage, ModelRegistry, RegistryError

__all__ = ["ApprovalStatus", "LocalRegistry", "ModelPackage", "ModelRegistry", "RegistryError"]
