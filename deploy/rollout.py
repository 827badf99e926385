"""The rollout, the same for AWS and one machine: newest approved package → staging → smoke test → (by hand) prod.

A failed deploy or smoke test restores the stage to what it served before (or removes it when it served nothing),
and never touches prod. Every event goes to the history (JSON lines), from which the rollout knows what each
stage serves and what a rollback returns to.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from deepfake.deploy.smoke import SAMPLES_FILE, SmokeResult, smoke_test
from deepfake.deploy.stages import CONFIG_DIR, DeployError, Deployment, Outcome, Stage, StageConfig, StageTarget
from deepfake.pipelines.registry import ApprovalStatus, ModelPackage, ModelRegistry


class RolloutError(DeployError):
    """A rollout that did not complete; the stage was left as the message says."""


class History:
    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, event: Deployment) -> Deployment:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as history:
            history.write(event.model_dump_json() + "\n")
        return event

    def events(self, stage: Stage | None = None) -> list[Deployment]:
        if not self.path.is_file():
            return []
        events = []
        for number, line in enumerate(self.path.read_text(errors="replace").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                events.append(Deployment.model_validate_json(line))
            except ValidationError as exc:
                problem = exc.errors()[0]["msg"]
                raise DeployError(
                    f"{self.path} line {number} is not a deployment event ({problem}): fix or remove that line"
                ) from None
        return [event for event in events if stage is None or event.stage is stage]

    def serving(self, stage: Stage) -> list[int]:
        """The versions the stage went live with, oldest first, minus those rolled back: the last one is live."""
        stack: list[int] = []
        for event in self.events(stage):
            if event.outcome in (Outcome.DEPLOYED, Outcome.PROMOTED):
                stack.append(event.version)
            elif event.outcome is Outcome.ROLLED_BACK and stack:
                stack.pop()
            elif event.outcome is Outcome.REMOVED:
                stack.clear()
        return stack


@dataclass
class Rollout:
    registry: ModelRegistry
    target: StageTarget
    history: History
    group: str
    results_dir: Path
    config_dir: Path = CONFIG_DIR
    samples_file: Path = SAMPLES_FILE

    def config(self, stage: Stage) -> StageConfig:
        return StageConfig.load(stage, self.config_dir)

    def live(self, stage: Stage) -> ModelPackage | None:
        serving = self.history.serving(stage)
        return self.registry.get(self.group, serving[-1]) if serving else None

    def to_staging(self) -> tuple[Deployment, SmokeResult | None]:
        """Deploy the newest approved package to staging and smoke-test it."""
        return self._roll(self.registry.newest_approved(self.group), Stage.STAGING, Outcome.DEPLOYED)

    def promote(self) -> tuple[Deployment, SmokeResult | None]:
        """Deploy what staging serves (and passed its smoke test with) to prod."""
        package = self.live(Stage.STAGING)
        if package is None:
            raise RolloutError(
                "staging serves nothing that passed its smoke test: approve a model first (make approve)"
            )
        if package.status is not ApprovalStatus.APPROVED:
            raise RolloutError(
                f"version {package.version} on staging is now {package.status.value}: approve a version and let it"
                " pass staging before promoting"
            )
        return self._roll(package, Stage.PROD, Outcome.PROMOTED)

    def rollback(self, stage: Stage) -> Deployment:
        serving = self.history.serving(stage)
        if not serving:
            raise RolloutError(f"stage '{stage.value}' serves nothing to roll back")
        previous = self.registry.get(self.group, serving[-2]) if len(serving) > 1 else None
        config = self.config(stage)
        self.target.restore(config, previous)
        detail = f"now serving version {previous.version}" if previous else "stage removed: nothing before it"
        return self.history.record(self._event(stage, serving[-1], Outcome.ROLLED_BACK, detail))

    def remove(self, stage: Stage) -> Deployment | None:
        """Take the stage down; None when it served nothing."""
        serving = self.history.serving(stage)
        self.target.restore(self.config(stage), None)
        if not serving:
            return None
        return self.history.record(self._event(stage, serving[-1], Outcome.REMOVED, "stage removed by hand"))

    def _roll(self, package: ModelPackage, stage: Stage, outcome: Outcome) -> tuple[Deployment, SmokeResult | None]:
        config = self.config(stage)
        previous = self.live(stage)
        name = f"{package.group}/{package.version}"
        try:
            endpoint = self.target.deploy(package, config)
        except Exception as exc:
            self.target.restore(config, previous)
            self.history.record(self._event(stage, package.version, Outcome.FAILED, f"deploy failed: {exc}"))
            raise RolloutError(
                f"{name} did not deploy to {stage.value} ({exc}); {_restored(stage, previous)}. The version stays"
                f" {package.status.value}, so the next rollout tries it again: fix the cause, or reject it"
                f" (python -m deepfake.deploy reject {package.version}) to roll out the approved one before it"
            ) from exc
        result = smoke_test(self.target, config, name, self.samples_file)
        self.results_dir.mkdir(parents=True, exist_ok=True)
        (self.results_dir / f"smoke-test-{stage.value}.json").write_text(result.model_dump_json(indent=2))
        if not result.passed:
            # A model that answers wrongly must not be picked again by every later rollout as the newest approved.
            self.target.restore(config, previous)
            self.registry.set_status(self.group, package.version, ApprovalStatus.REJECTED)
            detail = f"smoke test failed; version {package.version} set to Rejected"
            self.history.record(self._event(stage, package.version, Outcome.FAILED, detail, endpoint))
            raise RolloutError(
                f"{result.summary()}\n{_restored(stage, previous)}; version {package.version} is now Rejected (its"
                f" smoke test failed), so later rollouts take the newest other approved version"
            )
        return self.history.record(self._event(stage, package.version, outcome, "smoke test passed", endpoint)), result

    def _event(self, stage: Stage, version: int, outcome: Outcome, detail: str, endpoint: str = "") -> Deployment:
        return Deployment(
            stage=stage,
            group=self.group,
            version=version,
            outcome=outcome,
            endpoint=endpoint,
            at=datetime.now(UTC),
            detail=detail,
        )


def _restored(stage: Stage, previous: ModelPackage | None) -> str:
    if previous is None:
        return f"{stage.value} was removed (it served nothing before)"
    return f"{stage.value} was rolled back to version {previous.version}"
