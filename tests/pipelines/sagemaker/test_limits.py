"""Compiled requests checked against botocore's SageMaker model, ranges, lengths, patterns and enums included."""

import pytest

from deepfake.pipelines.builtin.deepfake import build_pipeline
from deepfake.pipelines.dag.loading import BUILTIN_PIPELINES, load_pipeline
from deepfake.pipelines.sagemaker.compiler import CompileError, compile_pipeline
from deepfake.pipelines.sagemaker.limits import request_problems
from tests.pipelines.sagemaker.definitions import PLACEHOLDER_SETTINGS, placeholder_target
from tests.support import REPO_ROOT

S3_DATA = {
    "InputData": "s3://deepfake-data/videos",
    "ModelData": "s3://deepfake-data/model",
    "Videos": "s3://deepfake-data/videos",
}


EXAMPLES = [
    "examples/quickstart/pipeline.py:pipeline",
    "examples/other_project/pipelines/face_audit/pipeline.py:pipeline",
]
S3_DATA = {**S3_DATA, "Videos": "s3://deepfake-data/videos"}


@pytest.mark.parametrize("name", [*sorted(BUILTIN_PIPELINES), *EXAMPLES])
def test_every_builtin_and_example_pipeline_compiles_within_the_services_limits(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """compile_pipeline checks every job request against botocore's model; it raises on the first problem."""
    monkeypatch.syspath_prepend(str(REPO_ROOT / "examples/other_project"))  # the example imports its own package
    pipeline = load_pipeline(name)
    overrides = {key: value for key, value in S3_DATA.items() if key in pipeline.parameters}
    assert compile_pipeline(pipeline, placeholder_target(), overrides).definition["Steps"]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        (
            {"max_runtime_s": 28 * 86400},
            r"step 'ingest-videos': CreateProcessingJob: StoppingCondition.MaxRuntimeInSeconds = 2419200 is over the"
            r" service's limit of 777600: set DEEPFAKE_MAX_RUNTIME_S within it",
        ),
        (
            {"processing_instance_type": "m5.xlarge"},
            r"ProcessingResources.ClusterConfig.InstanceType = 'm5.xlarge' is not one of the service's values \(ml\.",
        ),
    ],
)
def test_a_setting_the_service_would_refuse_fails_the_compile_naming_the_limit(changes: dict, problem: str) -> None:
    with pytest.raises(CompileError, match=problem):
        compile_pipeline(build_pipeline(), placeholder_target(**changes), {"InputData": S3_DATA["InputData"]})


def test_twenty_eight_days_are_within_a_training_jobs_limit() -> None:
    arguments = {"StoppingCondition": {"MaxRuntimeInSeconds": 28 * 86400}, "ResourceConfig": {"VolumeSizeInGB": 50}}
    assert request_problems("Training", arguments, {}) == []
    assert request_problems("Training", {"ResourceConfig": {"InstanceCount": -1}}, {}) == [
        "CreateTrainingJob: ResourceConfig.InstanceCount = -1 is under the service's minimum of 0"
    ]


def test_values_known_only_at_run_time_are_skipped_and_parameters_checked_with_their_defaults() -> None:
    arguments = {
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": {"Get": "Parameters.Count"}, "VolumeSizeInGB": 30}},
        "RoleArn": {"Get": "Steps.other.Properties.RoleArn"},
    }
    assert request_problems("Processing", arguments, {"Count": 1}) == []
    assert request_problems("Processing", arguments, {"Count": 101}) == [
        "CreateProcessingJob: ProcessingResources.ClusterConfig.InstanceCount = 101 is over the service's limit of 100"
    ]
    assert PLACEHOLDER_SETTINGS["max_runtime_s"] <= 777_600
