"""The local rollout end to end: real serving processes on 127.0.0.1, a model trained in the tests, real clips."""

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from deepfake.components.artifacts import pack_archive
from deepfake.components.classifier.model import load_model, save_model
from deepfake.deploy import cli
from deepfake.deploy.local_target import LocalTarget
from deepfake.deploy.rollout import History, Rollout, RolloutError
from deepfake.deploy.smoke import SAMPLES_FILE, SampleSet
from deepfake.deploy.stages import Deployment, Outcome, Stage, StageConfig
from deepfake.pipelines.registry import ApprovalStatus, LocalRegistry
from tests.support.ports import free_port

pytestmark = pytest.mark.slow  # serving processes for each stage

GROUP = "deepfake-detector"


def register(registry: LocalRegistry, model: Path, scratch: Path) -> int:
    archive = scratch / f"{model.name}.tar.gz"
    pack_archive(model, archive)
    (scratch / "evaluation.json").write_text(json.dumps({"binary_classification_metrics": {}}))
    package = registry.register(
        GROUP, archive, scratch / "evaluation.json", "deepfake/serve", ApprovalStatus.PENDING, "test"
    )
    return registry.set_status(GROUP, package.version, ApprovalStatus.APPROVED).version


def always_fake(trained_model: Path, folder: Path) -> Path:
    """The trained model with its head cut off from the features: a constant logit of 25, FAKE for everything (a
    broken model). Only pushing the bias up is not enough: the trained head's logits reach -70 on clear REAL clips."""
    network, config = load_model(trained_model)
    with torch.no_grad():
        network.fc.weight.zero_()
        network.fc.bias.fill_(25.0)
    save_model(folder, network, config)
    return folder


@pytest.fixture
def rollout(tmp_path: Path, clips: dict[str, Path]) -> Iterator[Rollout]:
    configs = tmp_path / "config"
    configs.mkdir()
    for stage in Stage:
        config = StageConfig.load(stage).model_copy(update={"local_port": free_port()})
        (configs / f"{stage.value}-config.json").write_text(config.model_dump_json())
    samples = tmp_path / "samples"
    samples.mkdir()
    for name in ("real", "fake"):
        shutil.copy(clips[name], samples / f"{name}.mp4")
    (samples / "samples.json").write_text(
        json.dumps(
            {
                "samples": [
                    {"file": "real.mp4", "content_type": "video/mp4", "expected_label": "REAL"},
                    {"file": "fake.mp4", "content_type": "video/mp4", "expected_label": "FAKE"},
                ]
            }
        )
    )
    target = LocalTarget(tmp_path / "deployments")
    rollout = Rollout(
        LocalRegistry(tmp_path / "registry"),
        target,
        History(tmp_path / "deployments" / "history.jsonl"),
        GROUP,
        results_dir=tmp_path / "deployments",
        config_dir=configs,
        samples_file=samples / "samples.json",
    )
    yield rollout
    for stage in Stage:
        target.stop(stage)


def served_version(rollout: Rollout, stage: Stage, clip: Path) -> tuple[str, str]:
    answer = rollout.target.invoke(rollout.config(stage), clip.read_bytes(), "video/mp4")
    assert answer.status == 200, answer.body
    verdict = json.loads(answer.body)
    return verdict["model_package"], verdict["label"]


def test_approve_stage_promote_then_a_broken_model_is_rolled_back_and_prod_keeps_serving(
    rollout: Rollout, trained_model: Path, clips: dict[str, Path], tmp_path: Path
) -> None:
    good = register(rollout.registry, trained_model, tmp_path)
    event, result = rollout.to_staging()
    assert (event.stage, event.version, event.outcome) == (Stage.STAGING, good, Outcome.DEPLOYED)
    assert result is not None and result.passed
    assert json.loads((tmp_path / "deployments" / "smoke-test-staging.json").read_text())["passed"] is True
    assert served_version(rollout, Stage.STAGING, clips["fake"]) == (f"{GROUP}/{good}", "FAKE")

    event, _ = rollout.promote()
    assert (event.stage, event.version, event.outcome) == (Stage.PROD, good, Outcome.PROMOTED)
    assert served_version(rollout, Stage.PROD, clips["real"]) == (f"{GROUP}/{good}", "REAL")

    prod_process = rollout.target.running(Stage.PROD)
    broken = register(rollout.registry, always_fake(trained_model, tmp_path / "broken"), tmp_path)
    with pytest.raises(RolloutError, match=rf"expected REAL, got FAKE[\s\S]*staging was rolled back to version {good}"):
        rollout.to_staging()
    assert broken == good + 1
    assert rollout.registry.get(GROUP, broken).status is ApprovalStatus.REJECTED, "its smoke test failed"
    assert rollout.registry.newest_approved(GROUP).version == good, "so the next rollout does not pick it again"
    assert rollout.history.events(Stage.STAGING)[-1].detail == f"smoke test failed; version {broken} set to Rejected"
    assert served_version(rollout, Stage.STAGING, clips["real"]) == (f"{GROUP}/{good}", "REAL")
    assert served_version(rollout, Stage.PROD, clips["real"]) == (f"{GROUP}/{good}", "REAL")
    assert prod_process is not None and rollout.target.running(Stage.PROD) == prod_process  # never restarted
    assert rollout.history.events(Stage.STAGING)[-1].outcome is Outcome.FAILED
    assert rollout.history.serving(Stage.STAGING) == [good]
    assert rollout.history.serving(Stage.PROD) == [good]
    assert rollout.target.deployed_package(rollout.config(Stage.STAGING)) == f"{GROUP}/{good}"

    event = rollout.rollback(Stage.PROD)
    assert event.detail == "stage removed: nothing before it"
    assert rollout.target.where(rollout.config(Stage.PROD))[1] is False
    assert rollout.target.deployed_package(rollout.config(Stage.PROD)) is None
    assert rollout.target.where(rollout.config(Stage.STAGING))[1] is True


def test_a_model_that_does_not_start_fails_the_deploy_and_removes_a_new_stage(
    rollout: Rollout, trained_model: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "corrupt"
    shutil.copytree(trained_model, broken)
    (broken / "model.pt").write_bytes(b"not a state dict")
    register(rollout.registry, broken, tmp_path)
    with pytest.raises(RolloutError, match=r"did not deploy to staging[\s\S]*cannot load the model[\s\S]*removed"):
        rollout.to_staging()
    with pytest.raises(RolloutError, match=r"stays Approved, so the next rollout tries it again[\s\S]*reject"):
        rollout.to_staging()
    assert rollout.target.where(rollout.config(Stage.STAGING))[1] is False
    assert rollout.history.serving(Stage.STAGING) == []


def event(stage: Stage, version: int, outcome: Outcome) -> Deployment:
    return Deployment(stage=stage, group=GROUP, version=version, outcome=outcome, at="2026-01-01T00:00:00Z")


def test_history_knows_what_each_stage_serves_and_what_a_rollback_returns_to(tmp_path: Path) -> None:
    history = History(tmp_path / "history.jsonl")
    for stage, version, outcome in [
        (Stage.STAGING, 1, Outcome.DEPLOYED),
        (Stage.PROD, 1, Outcome.PROMOTED),
        (Stage.STAGING, 2, Outcome.DEPLOYED),
        (Stage.STAGING, 3, Outcome.FAILED),
        (Stage.STAGING, 4, Outcome.DEPLOYED),
        (Stage.STAGING, 4, Outcome.ROLLED_BACK),
    ]:
        history.record(event(stage, version, outcome))
    assert history.serving(Stage.STAGING) == [1, 2]
    assert history.serving(Stage.PROD) == [1]
    history.record(event(Stage.STAGING, 2, Outcome.REMOVED))
    assert history.serving(Stage.STAGING) == []
    assert len(History(tmp_path / "history.jsonl").events()) == 7


def test_promote_with_nothing_on_staging_and_approve_with_no_models_fail_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DEEPFAKE_RUNS_DIR", str(tmp_path))
    assert cli.main(["promote"]) == 1
    assert "staging serves nothing that passed its smoke test: approve a model first" in capsys.readouterr().err
    assert cli.main(["approve"]) == 2
    assert "no versions in model group 'deepfake-detector': run the pipeline first" in capsys.readouterr().err
    assert cli.main(["rollback", "--stage", "prod"]) == 1
    assert "serves nothing to roll back" in capsys.readouterr().err


def test_the_shipped_smoke_samples_exist_and_are_labelled() -> None:
    samples = SampleSet.load(SAMPLES_FILE).samples
    assert {sample.expected_label for sample in samples} == {"REAL", "FAKE"}
    for sample in samples:
        data = (SAMPLES_FILE.parent / sample.file).read_bytes()
        assert data[4:8] == b"ftyp" and len(data) < 6 * 1024 * 1024
