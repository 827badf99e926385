"""The smoke test: real invocations of a stage's endpoint with the sample clips shipped in `deploy/smoke_samples/`.

Each sample must answer 200 with a verdict that validates against the serving schema, whose label agrees with its
probability and threshold, that found a face, and that names the package the stage should serve (when the endpoint
reports one). A sample with an `expected_label` must get it: the shipped real and fake clips are ones any working
demo-trained detector separates by a wide margin (p_fake 0.01 and 1.00), so a broken model fails here. Models
trained on other data: point `samples.json` at clips of your own.
"""

import json
import math
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from deepfake.components.serve.schema import Verdict
from deepfake.deploy.stages import StageConfig, StageTarget

SAMPLES_FILE = Path(__file__).parent / "smoke_samples" / "samples.json"


class Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: str
    content_type: str
    expected_label: Literal["REAL", "FAKE"] | None = None


class SampleSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    samples: list[Sample]

    @classmethod
    def load(cls, path: Path = SAMPLES_FILE) -> "SampleSet":
        try:
            return cls.model_validate_json(path.read_text())
        except (OSError, ValidationError) as exc:
            raise ValueError(f"smoke-test samples {path}: {exc}") from exc


class SampleResult(BaseModel):
    file: str
    status: int
    latency_s: float
    passed: bool
    problems: list[str]
    verdict: dict | None = None


class SmokeResult(BaseModel):
    stage: str
    package: str
    passed: bool
    tested_at: datetime
    samples: list[SampleResult]

    def summary(self) -> str:
        lines = [f"smoke test of {self.stage} ({self.package}): {'PASSED' if self.passed else 'FAILED'}"]
        for sample in self.samples:
            label = (sample.verdict or {}).get("label", "-")
            shown = "; ".join(sample.problems) or "ok"
            lines.append(f"  {sample.file:<12} HTTP {sample.status} {label:<5} {sample.latency_s:6.2f}s  {shown}")
        return "\n".join(lines)


def smoke_test(
    target: StageTarget, config: StageConfig, package: str, samples_file: Path = SAMPLES_FILE
) -> SmokeResult:
    """`package` is `group/version`, what the stage should now serve."""
    sample_set = SampleSet.load(samples_file)
    results = []
    for sample in sample_set.samples:
        body = (samples_file.parent / sample.file).read_bytes()
        started = time.perf_counter()
        answer = target.invoke(config, body, sample.content_type)
        latency = time.perf_counter() - started
        problems, verdict = check_answer(answer.status, answer.body, sample, package)
        results.append(
            SampleResult(
                file=sample.file,
                status=answer.status,
                latency_s=round(latency, 3),
                passed=not problems,
                problems=problems,
                verdict=verdict,
            )
        )
    return SmokeResult(
        stage=config.stage.value,
        package=package,
        passed=all(result.passed for result in results),
        tested_at=datetime.now(UTC),
        samples=results,
    )


def check_answer(status: int, body: bytes, sample: Sample, package: str) -> tuple[list[str], dict | None]:
    try:
        document = json.loads(body)
    except ValueError:
        return [f"HTTP {status}, body is not JSON: {body[:200]!r}"], None
    if status != 200:
        return [f"HTTP {status}: {document.get('error', document) if isinstance(document, dict) else document}"], None
    try:
        verdict = Verdict.model_validate(document)
    except ValidationError as exc:
        return [
            f"response does not match the verdict schema: {exc.errors()[0]['msg']} at {exc.errors()[0]['loc']}"
        ], None
    problems = []
    if not math.isfinite(verdict.probability_fake):
        problems.append("probability_fake is not a number")
    if (verdict.probability_fake >= verdict.threshold) != (verdict.label == "FAKE"):
        problems.append(
            f"label {verdict.label} disagrees with p_fake {verdict.probability_fake} vs {verdict.threshold}"
        )
    if verdict.faces_found != len(verdict.frame_scores) or verdict.faces_found > verdict.frames_sampled:
        problems.append("faces_found disagrees with frame_scores / frames_sampled")
    if verdict.model_package and verdict.model_package != package:
        problems.append(f"endpoint serves {verdict.model_package}, expected {package}")
    if sample.expected_label and verdict.label != sample.expected_label:
        problems.append(
            f"expected {sample.expected_label}, got {verdict.label} (p_fake {verdict.probability_fake:.3f})"
        )
    return problems, document
