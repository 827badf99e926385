import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import jmespath
import numpy as np
import pytest

from deepfake.components.classifier.model import ModelConfig
from deepfake.components.contract import MODEL_ARCHIVE, TRAIN_COMMAND, ComponentKind, ContainerLayout
from deepfake.components.evaluate_model.component import EVALUATION_FILE, Params, evaluation_document, score_videos
from deepfake.components.manifests import FaceRecord
from deepfake.components.params import decode_params, encode_values
from deepfake.components.runtime import parse_arguments, read_hyperparameters
from deepfake.components.serve import VERSION as SERVE_VERSION
from deepfake.pipelines.dag import (
    ComponentStep,
    ConditionStep,
    JsonValue,
    ParamRef,
    Pipeline,
    PipelineDefinitionError,
    all_of,
    any_of,
    ge,
    lt,
)
from deepfake.pipelines.dag.loading import BUILTIN_PIPELINES, load_pipeline
from deepfake.pipelines.images.manifest import ImagesManifest, PushedImage
from deepfake.pipelines.local.runner import LocalRunner, _container_arguments, evaluate, read_json_value
from deepfake.pipelines.sagemaker.compiler import (
    PROCESSING_INSTANCE_TYPE,
    TRAINING_INSTANCE_COUNT,
    TRAINING_INSTANCE_TYPE,
    CompileError,
    compile_pipeline,
    sagemaker_parameters,
)
from tests.pipelines.sagemaker.definitions import (
    REGISTRY,
    all_steps,
    branch_owners,
    component_of,
    condition_holds,
    dependencies,
    json_gets,
    placeholder_settings,
    placeholder_target,
    processing_inputs,
    processing_outputs,
    property_file,
    resolve,
)
from tests.toy import fit_mean, gated_training

DATA_URI = "s3://deepfake-datasets/demo"
TOY = "tests.toy.gated_training:pipeline"


def s3_inputs(pipeline: Pipeline) -> dict[str, str]:
    """An s3:// value for every parameter that feeds an input (their defaults are local folders)."""
    return {
        ref.name: f"s3://deepfake-datasets/{ref.name.lower()}"
        for step in pipeline.steps.values()
        if isinstance(step, ComponentStep)
        for ref in step.inputs.values()
        if isinstance(ref, ParamRef)
    }


def defaults(definition: dict[str, Any]) -> dict[str, Any]:
    return {parameter["Name"]: parameter["DefaultValue"] for parameter in definition["Parameters"]}


@pytest.fixture(scope="module")
def deepfake() -> Pipeline:
    return load_pipeline("deepfake")


@pytest.fixture(scope="module")
def compiled(deepfake: Pipeline) -> dict[str, Any]:
    return compile_pipeline(deepfake, placeholder_target(), {"InputData": DATA_URI}).definition


@pytest.mark.parametrize("pipeline_name", sorted(BUILTIN_PIPELINES))
def test_every_step_runs_the_component_contract(pipeline_name: str, tmp_path: Path) -> None:
    """Image, entrypoint, container paths, channels and params are what the component's entry reads."""
    pipeline = load_pipeline(pipeline_name)
    compiled = compile_pipeline(pipeline, placeholder_target(), s3_inputs(pipeline)).definition
    steps, values = all_steps(compiled), defaults(compiled)
    sharded = placeholder_settings().sharded_inputs
    for name, step in pipeline.steps.items():
        if not isinstance(step, ComponentStep):
            continue
        spec, arguments = step.component, steps[name]["Arguments"]
        layout = ContainerLayout(spec.kind)
        expected = encode_values(spec.params_schema, pipeline.resolve_params(step, values))
        if name in sharded:
            expected["input_distribution"] = "ShardedByS3Key"
        image = f"{REGISTRY}/{spec.image}:{spec.version}"
        if spec.kind is ComponentKind.PROCESSING:
            app = arguments["AppSpecification"]
            assert (app["ImageUri"], app["ContainerEntrypoint"]) == (image, list(spec.entrypoint))
            container_arguments = resolve(app.get("ContainerArguments", []), values)
            assert container_arguments == _container_arguments(expected)  # what the local runner passes
            received = parse_arguments(container_arguments)  # what the runtime reads
            inputs, outputs = processing_inputs(steps[name]), processing_outputs(steps[name])
            assert {key: Path(item["LocalPath"]) for key, item in inputs.items()} == {
                key: layout.input_dir(key) for key in step.inputs
            }
            assert {key: Path(item["LocalPath"]) for key, item in outputs.items()} == {
                key: layout.output_dir(key) for key in spec.outputs
            }
        else:
            algorithm = arguments["AlgorithmSpecification"]
            assert (algorithm["TrainingImage"], algorithm["ContainerEntrypoint"]) == (image, list(spec.entrypoint))
            assert algorithm["ContainerArguments"] == [TRAIN_COMMAND]
            declared = [{"Name": metric.name, "Regex": metric.regex} for metric in spec.metrics]
            assert algorithm.get("MetricDefinitions", []) == declared  # the spec's metrics, for SageMaker to read
            hyperparameters = tmp_path / name / "hyperparameters.json"  # as SageMaker writes them
            hyperparameters.parent.mkdir()
            hyperparameters.write_text(json.dumps(resolve(arguments["HyperParameters"], values)))
            received = read_hyperparameters(hyperparameters)
            assert received == expected
            channels = {channel["ChannelName"] for channel in arguments["InputDataConfig"]}
            sagemaker_channels = {Path("/opt/ml/input/data") / channel for channel in channels}
            assert sagemaker_channels == {layout.input_dir(key) for key in step.inputs}
            assert Path(arguments["CheckpointConfig"]["LocalPath"]) == layout.checkpoint_dir
        params_model = component_of(spec).params
        assert decode_params(params_model, received) == decode_params(params_model, expected)


def test_a_trained_model_reaches_evaluation_as_the_archive_the_runtime_unpacks(
    deepfake: Pipeline, compiled: dict[str, Any]
) -> None:
    model_input = processing_inputs(all_steps(compiled)["evaluate-model"])["model"]
    assert model_input["S3Uri"] == {"Get": "Steps.train-classifier.ModelArtifacts.S3ModelArtifacts"}
    evaluate_step = deepfake.steps["evaluate-model"]
    assert isinstance(evaluate_step, ComponentStep)
    assert evaluate_step.component.inputs["model"].type.archive == MODEL_ARCHIVE  # unpacked before run()


def test_every_json_path_exists_in_the_evaluation_report(compiled: dict[str, Any]) -> None:
    """The gate's and the fail message's JsonGet paths resolve in a report built by evaluate-model's own code."""
    rows = [
        FaceRecord(
            video_id=f"v{video}",
            frame_index=frame,
            image=f"v{video}/{frame}.jpg",
            box=(0, 0, 8, 8),
            score=0.9,
            label=video % 2,
            group=f"g{video}",
        )
        for video in range(6)
        for frame in range(2)
    ]
    scores = np.linspace(0.1, 0.9, len(rows))
    config = ModelConfig(architecture="resnet18", image_size=64, version="test")
    videos = score_videos(rows, scores, "mean")
    document = evaluation_document(rows, scores, videos, Params(bootstrap_samples=0), config, "mean", 0.5)
    steps = all_steps(compiled)
    gets = json_gets(compiled["Steps"])
    assert len(gets) == 8  # AUC, accuracy, worst AUC and test size, in the gate and in the fail message
    for get in gets:
        assert property_file(steps, get) == ("evaluate-model", "evaluation", EVALUATION_FILE)
        assert isinstance(jmespath.search(get["Path"], document), float | int), get["Path"]


def test_the_local_run_and_the_compiled_definition_agree(tmp_path: Path) -> None:
    """Same steps, edges, params and gate: the toy pipeline runs locally, then its definition is read beside it."""
    pipeline = gated_training.pipeline
    record = LocalRunner(tmp_path, stream_logs=False).run(pipeline, {"Epochs": "3"})
    definition = compile_pipeline(pipeline, placeholder_target(), {"Epochs": "3"}).definition
    steps, owners, values = all_steps(definition), branch_owners(definition), defaults(definition)
    assert set(steps) == set(record.steps) == set(pipeline.steps)
    for name in pipeline.steps:
        assert dependencies(steps[name], owners) == pipeline.dependencies(name), name
    assert {name: values[name] for name in pipeline.parameters} == record.parameters
    for name, step_record in record.steps.items():
        arguments = steps[name]["Arguments"]
        if step_record.type == "processing":
            sent = resolve(arguments["AppSpecification"].get("ContainerArguments", []), values)
            assert sent == _container_arguments(step_record.params)
        elif step_record.type == "training":
            assert resolve(arguments["HyperParameters"], values) == step_record.params
    outputs = {name: {key: item.path for key, item in step.outputs.items()} for name, step in record.steps.items()}

    def json_get(get: dict[str, Any]) -> Any:
        step_name, output, file_name = property_file(steps, get)
        return jmespath.search(get["Path"], json.loads((outputs[step_name][output] / file_name).read_text()))

    gate = steps["in-range"]["Arguments"]["Conditions"]
    assert all(condition_holds(item, values, json_get) for item in gate) is record.steps["in-range"].outcome is True
    condition = pipeline.steps["in-range"]
    assert isinstance(condition, ConditionStep)
    for min_mean in (0.0, 0.6, 0.99):  # the same report decides the same way on both sides
        changed = {**values, "MinMean": min_mean}

        def local_value(operand: Any, changed: dict[str, Any] = changed) -> Any:
            if isinstance(operand, ParamRef):
                return changed[operand.name]
            if isinstance(operand, JsonValue):
                return read_json_value(outputs[operand.step][operand.output], operand)
            return operand

        local = evaluate(condition.condition, local_value)
        assert all(condition_holds(item, changed, json_get) for item in gate) is local


@pytest.mark.parametrize("name", sorted(BUILTIN_PIPELINES))
def test_every_builtin_pipeline_compiles_to_stable_json(name: str) -> None:
    pipeline = load_pipeline(name)
    target = placeholder_target()
    first = compile_pipeline(pipeline, target, s3_inputs(pipeline))
    second = compile_pipeline(pipeline, target, s3_inputs(pipeline))
    assert first.to_json() == second.to_json()
    steps, owners = all_steps(first.definition), branch_owners(first.definition)
    assert set(steps) == set(pipeline.steps)
    for step_name in pipeline.steps:  # the same edges as the DAG the local runner walks
        assert dependencies(steps[step_name], owners) == pipeline.dependencies(step_name), step_name
    assert set(defaults(first.definition)) == set(sagemaker_parameters(pipeline, target))


def test_scale_out_shards_extract_faces_and_runs_training_data_parallel(compiled: dict[str, Any]) -> None:
    steps = all_steps(compiled)
    extract = steps["extract-faces"]["Arguments"]["ProcessingResources"]["ClusterConfig"]
    assert extract["InstanceCount"] == {"Get": "Parameters.ExtractFacesInstanceCount"}
    assert extract["InstanceType"] == {"Get": f"Parameters.{PROCESSING_INSTANCE_TYPE}"}
    inputs = processing_inputs(steps["extract-faces"])
    distribution = {name: item["S3DataDistributionType"] for name, item in inputs.items()}
    assert distribution == {"manifest": "FullyReplicated", "videos": "ShardedByS3Key"}
    ingest = steps["ingest-videos"]
    assert ingest["Arguments"]["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 1
    assert {item["S3DataDistributionType"] for item in processing_inputs(ingest).values()} == {"FullyReplicated"}
    training = steps["train-classifier"]["Arguments"]["ResourceConfig"]
    assert training["InstanceCount"] == {"Get": f"Parameters.{TRAINING_INSTANCE_COUNT}"}
    assert training["InstanceType"] == {"Get": f"Parameters.{TRAINING_INSTANCE_TYPE}"}
    assert defaults(compiled)["ExtractFacesInstanceCount"] == defaults(compiled)[TRAINING_INSTANCE_COUNT] == 1


def test_retries_and_caching_follow_the_dag_and_settings() -> None:
    pipeline = gated_training.pipeline
    steps = all_steps(compile_pipeline(pipeline, placeholder_target()).definition)
    fit = steps["fit"]
    assert fit["CacheConfig"] == {"Enabled": False}  # the step opted out
    assert {tuple(policy["ExceptionType"]) for policy in fit["RetryPolicies"]} == {
        ("Step.SERVICE_FAULT", "Step.THROTTLING"),
        ("SageMaker.JOB_INTERNAL_ERROR", "SageMaker.CAPACITY_ERROR", "SageMaker.RESOURCE_LIMIT"),
    }
    for policy in fit["RetryPolicies"]:  # 3 attempts = 2 retries; SageMaker's interval is whole seconds
        assert (policy["MaxAttempts"], policy["IntervalSeconds"], policy["BackoffRate"]) == (2, 2, 3.0)
    assert steps["generate"]["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P30D"}
    for policy in steps["generate"]["RetryPolicies"]:  # no DAG policy: the settings' infrastructure retries
        assert (policy["MaxAttempts"], policy["IntervalSeconds"], policy["BackoffRate"]) == (2, 60, 2.0)
    unretried = all_steps(compile_pipeline(pipeline, placeholder_target(job_retries=0)).definition)
    assert "RetryPolicies" not in unretried["generate"] and len(unretried["fit"]["RetryPolicies"]) == 2
    uncached = all_steps(compile_pipeline(pipeline, placeholder_target(step_cache=False)).definition)
    assert {step["CacheConfig"]["Enabled"] for step in uncached.values() if "CacheConfig" in step} == {False}


def test_training_checkpoints_can_be_dropped_so_training_caches_across_executions() -> None:
    target = placeholder_target(training_checkpoints=False)
    fit = all_steps(compile_pipeline(gated_training.pipeline, target).definition)["fit"]
    assert "CheckpointConfig" not in fit["Arguments"]


def test_register_and_fail_steps(compiled: dict[str, Any]) -> None:
    steps = all_steps(compiled)
    register = steps["register-model"]
    assert register["Type"] == "RegisterModel"
    arguments = register["Arguments"]
    container = arguments["InferenceSpecification"]["Containers"][0]
    assert container["Image"] == f"{REGISTRY}/deepfake/serve:{SERVE_VERSION}"
    assert container["ModelDataUrl"] == {"Get": "Steps.train-classifier.ModelArtifacts.S3ModelArtifacts"}
    assert arguments["ModelApprovalStatus"] == {"Get": "Parameters.ApprovalStatus"}
    assert defaults(compiled)["ApprovalStatus"] == "PendingManualApproval"
    assert arguments["ModelPackageGroupName"] == "deepfake-detector"
    statistics = arguments["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics["ContentType"] == "application/json"
    evaluation = "Steps.evaluate-model.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri"
    assert statistics["S3Uri"]["Std:Join"]["Values"] == [{"Get": evaluation}, "evaluation.json"]
    metrics = {
        "binary_classification_metrics.auc.value": 0.7,
        "binary_classification_metrics.accuracy.value": 0.6,
        "summary.worst_auc": 0.5,
        "summary.smallest_class_videos": 12,
    }
    message = steps["quality-gate-failed"]["Arguments"]["ErrorMessage"]
    rendered = resolve(message, defaults(compiled), lambda get: metrics[get["Path"]])
    assert rendered == (
        "video-level AUC 0.7 and accuracy 0.6 worst AUC 0.5 and test videos of the smaller class 12 must reach"
        " MinAuc 0.85 MinAccuracy 0.8 MinWorstAuc 0.8 and MinTestVideosPerClass 32"
    )


def test_images_come_from_the_manifest_when_there_is_one(tmp_path: Path) -> None:
    pipeline = gated_training.pipeline
    specs = {step.component.name: step.component for step in pipeline.steps.values() if isinstance(step, ComponentStep)}
    pushed = [(name, spec.version, spec.image) for name, spec in specs.items()] + [
        ("serve", SERVE_VERSION, "deepfake/serve")
    ]
    manifest = ImagesManifest(
        registry=REGISTRY,
        images={
            name: PushedImage(
                component=name,
                version=version,
                repository=f"{REGISTRY}/{image}",
                tag="abc123",
                digest=f"sha256:{index:064x}",
            )
            for index, (name, version, image) in enumerate(pushed)
        },
    )
    manifest.save(tmp_path / "images.json")
    target = placeholder_target(images_manifest=tmp_path / "images.json")
    steps = all_steps(compile_pipeline(pipeline, target).definition)
    fit_image = steps["fit"]["Arguments"]["AlgorithmSpecification"]["TrainingImage"]
    assert fit_image == manifest.images["fit-mean"].uri and "@sha256:" in fit_image
    serving = steps["register"]["Arguments"]["InferenceSpecification"]["Containers"][0]["Image"]
    assert serving == manifest.images["serve"].uri
    manifest.images["fit-mean"] = manifest.images["fit-mean"].model_copy(update={"version": "0.9.0"})
    manifest.save(tmp_path / "stale.json")
    with pytest.raises(ValueError, match=r"'fit-mean'.*version 0\.9\.0.*make build-components"):
        compile_pipeline(pipeline, placeholder_target(images_manifest=tmp_path / "stale.json"))


def test_an_image_without_a_registry_is_refused() -> None:
    with pytest.raises(CompileError, match=r"not set:\n  export DEEPFAKE_IMAGE_REGISTRY=.*make build-components"):
        placeholder_target(image_registry=None)
    with pytest.raises(CompileError, match=r"SageMaker cannot pull.*DEEPFAKE_IMAGE_REGISTRY"):
        compile_pipeline(gated_training.pipeline, placeholder_target(image_registry="deepfake"))


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({}, r"'InputData' feeds input 'videos' of step 'ingest-videos' and is 'data/demo'.*InputData=s3://"),
        ({"InputData": "/data/dfdc"}, "'/data/dfdc', which SageMaker cannot read"),
        ({"InputData": DATA_URI, "Colour": "red"}, r"unknown parameter\(s\) Colour"),
        ({"InputData": DATA_URI, "Epochs": "many"}, "'many' is not a valid Integer"),
    ],
)
def test_parameters_sagemaker_cannot_use_are_refused_at_compile_time(
    deepfake: Pipeline, overrides: dict[str, str], problem: str
) -> None:
    with pytest.raises(PipelineDefinitionError, match=problem):
        compile_pipeline(deepfake, placeholder_target(), overrides)


def test_a_dag_parameter_may_not_take_a_sagemaker_parameter_name() -> None:
    pipeline = Pipeline("clash")
    pipeline.parameter(TRAINING_INSTANCE_COUNT, int, 2)
    with pytest.raises(CompileError, match=f"'{TRAINING_INSTANCE_COUNT}' is reserved"):
        compile_pipeline(pipeline, placeholder_target())


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"pipeline_role_arn": None}, r"not set:\n  export DEEPFAKE_PIPELINE_ROLE_ARN=arn:aws:iam::<account>"),
        (
            {"bucket": None, "pipeline_role_arn": None},
            r"not set:\n  export DEEPFAKE_PIPELINE_ROLE_ARN=.*\n  export DEEPFAKE_BUCKET=",
        ),
        ({"pipeline_role_arn": "deepfake-role"}, "DEEPFAKE_PIPELINE_ROLE_ARN='deepfake-role' is not an IAM role ARN"),
        ({"bucket": "My_Bucket"}, r"DEEPFAKE_BUCKET='My_Bucket' is not an S3 bucket name \(3-63 lowercase"),
        ({"sharded_inputs": {"generate": "numbers"}}, "shards input 'numbers' of step 'generate'"),
    ],
)
def test_settings_are_checked_with_the_fix_named(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(CompileError, match=problem):
        compile_pipeline(gated_training.pipeline, placeholder_target(**changes))


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"Epochs": "-1"}, r"parameter Epochs=-1: -1 is less than the minimum of 1 \(train-classifier epochs\)"),
        ({"Architecture": "resnet34"}, "parameter Architecture='resnet34' is not one of efficientnet_b0, resnet18"),
        ({"FaceSize": "16"}, r"FaceSize=16: 16 is less than the minimum of 32 \(extract-faces face_size\)"),
        ({"DatasetFormat": "unlabeled"}, "DatasetFormat='unlabeled' is not one of auto.*batch-scoring pipeline"),
    ],
)
def test_parameter_values_are_checked_against_every_component_at_compile_time(
    deepfake: Pipeline, overrides: dict[str, str], problem: str
) -> None:
    with pytest.raises(PipelineDefinitionError, match=problem):
        compile_pipeline(deepfake, placeholder_target(), {"InputData": DATA_URI, **overrides})


def test_a_project_names_the_pipeline_and_the_name_must_suit_sagemaker() -> None:
    named = compile_pipeline(gated_training.pipeline, placeholder_target(), project_name="team-a")
    assert named.name == "team-a-toy-gated-training"
    with pytest.raises(CompileError, match="no '_'"):
        compile_pipeline(Pipeline("under_score"), placeholder_target())


def test_the_condition_compiles_to_an_equivalent_sagemaker_condition() -> None:
    """all_of inside any_of becomes Not(Or(Not ...)); every case decides as the local evaluator does."""
    pipeline = Pipeline("nested")
    low = pipeline.parameter("Low", float, 0.0)
    high = pipeline.parameter("High", float, 1.0)
    value = pipeline.parameter("Value", float, 0.5)
    never = pipeline.fail("never", ["out of range"])
    condition = any_of(all_of(ge(value, low), lt(value, high)), ge(value, 10.0))
    pipeline.condition("check", condition, if_false=[never])
    conditions = all_steps(compile_pipeline(pipeline, placeholder_target()).definition)["check"]["Arguments"]
    for test_value in (-1.0, 0.0, 0.5, 1.0, 5.0, 10.0, 11.0):
        values = {"Low": 0.0, "High": 1.0, "Value": test_value}

        def local_value(operand: Any, values: dict[str, float] = values) -> Any:
            return values[operand.name] if isinstance(operand, ParamRef) else operand

        holds = all(condition_holds(item, values, json_get=dict) for item in conditions["Conditions"])
        assert holds is evaluate(condition, local_value), test_value


def test_compiling_leaves_credentials_and_the_default_session_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "caller-key")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    session = boto3.Session(region_name="eu-west-1")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
    compile_pipeline(gated_training.pipeline, placeholder_target())
    assert os.environ["AWS_ACCESS_KEY_ID"] == "caller-key" and "AWS_SECRET_ACCESS_KEY" not in os.environ
    assert boto3.DEFAULT_SESSION is session


NO_NETWORK = """
import socket, sys
attempts = []
def refuse(self, address):
    attempts.append(address)
    raise OSError("network is off in this test")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
from deepfake.pipelines.cli.main import main
code = main(["compile", sys.argv[1], "--out", sys.argv[2]])
print("attempts", attempts)
sys.exit(code or (1 if attempts else 0))
"""


@pytest.mark.slow  # a whole run or compile in a subprocess
def test_compiling_makes_no_network_call(tmp_path: Path) -> None:
    """No credentials, no reachable endpoint, sockets refused: the SDK import and the compile still succeed."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "DEEPFAKE_", "SAGEMAKER_"))}
    settings = placeholder_settings()
    env |= {
        "HOME": str(tmp_path),
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "DEEPFAKE_REGION": str(settings.region),
        "DEEPFAKE_PIPELINE_ROLE_ARN": str(settings.pipeline_role_arn),
        "DEEPFAKE_BUCKET": str(settings.bucket),
        "DEEPFAKE_IMAGE_REGISTRY": str(settings.image_registry),
        "DEEPFAKE_IMAGES_MANIFEST": str(settings.images_manifest),
    }
    out = tmp_path / "definition.json"
    completed = subprocess.run(
        [sys.executable, "-c", NO_NETWORK, TOY, str(out)], env=env, capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "attempts []" in completed.stdout
    assert json.loads(out.read_text())["Steps"]
    assert "Found credentials" not in completed.stderr  # the SDK's logging.basicConfig(INFO) is undone


def test_a_report_read_from_a_training_step_is_refused() -> None:
    """SageMaker attaches property files to processing steps only."""
    pipeline = Pipeline("report-from-training")
    data = pipeline.parameter("Data", str, "s3://toy-data/numbers")
    fit = pipeline.step("fit", fit_mean.COMPONENT, inputs={"train": data})
    pipeline.fail("quote-the-mean", ["mean", fit.report_value("model", "model.json", "mean")])
    with pytest.raises(CompileError, match=r"reads model\.json from training step 'fit'.*processing steps only"):
        compile_pipeline(pipeline, placeholder_target())
