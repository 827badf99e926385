"""Local execution: the runner, its launchers (subprocess, docker), the step cache, run records and S3 staging."""

from deepfake.pipelines.local.runner import LocalRunner, StepFailure

__all__ = ["LocalRunner", "StepFailure"]
