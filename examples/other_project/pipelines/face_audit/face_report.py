"""face-report: how many faces extract-faces found in each video: this project's own component.

It reads the library's FaceDataset without importing the library's code for it: the artifact type is declared here
by name (wiring compares names), and the rows are parsed by a model of just the fields this report needs.
"""

import json
from collections import defaultdict
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from deepfake.components import ArtifactType, Component, ComponentKind, InputSpec, OutputSpec, RunContext
from deepfake.components.artifacts import JSON_REPORT
from deepfake.components.runtime import main

MAX_MANIFEST_BYTES = 512 * 1024**2
FACE_DATASET = ArtifactType(
    name="FaceDataset",
    description="extract-faces' output: faces*.jsonl (a face a line), rejected*.jsonl (videos without a face)",
    required_files=("faces*.jsonl", "rejected*.jsonl"),
)


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_score: float = Field(0.0, ge=0, le=1, description="Count only faces detected at least this confidently.")


class Face(BaseModel):
    """The two fields of a FaceRecord this report reads; the others are ignored, so new ones do not break it."""

    model_config = ConfigDict(extra="ignore")

    video_id: str
    score: float = Field(ge=0, le=1)


class Rejected(BaseModel):
    model_config = ConfigDict(extra="ignore")

    path: str
    reason: str


def run(params: Params, ctx: RunContext) -> None:
    folder = ctx.inputs["faces"]
    faces = [Face.model_validate_json(line) for line in _lines(folder, "faces*.jsonl")]
    rejected = [Rejected.model_validate_json(line) for line in _lines(folder, "rejected*.jsonl")]
    scores: dict[str, list[float]] = defaultdict(list)
    for face in faces:
        if face.score >= params.min_score:
            scores[face.video_id].append(face.score)
    videos = len({face.video_id for face in faces}) + len(rejected)
    report = {
        "videos": videos,
        "videos_with_faces": len(scores),
        "faces": sum(map(len, scores.values())),
        "face_rate": round(len(scores) / videos, 4) if videos else 0.0,
        "per_video": {
            video: {"faces": len(found), "mean_score": round(sum(found) / len(found), 4)}
            for video, found in sorted(scores.items())
        },
        "without_faces": {row.path: row.reason for row in rejected},
    }
    (ctx.outputs["report"] / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")


def _lines(folder: Path, pattern: str) -> list[str]:
    lines = []
    for path in sorted(folder.glob(pattern)):
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise ValueError(f"input 'faces': {path.name} is over {MAX_MANIFEST_BYTES} bytes; split the dataset")
        lines += [line for line in path.read_text().splitlines() if line.strip()]
    return lines


COMPONENT = Component(
    name="face-report",
    version="0.1.0",
    kind=ComponentKind.PROCESSING,
    image="other-project/face-report",
    description=__doc__.splitlines()[0],
    params=Params,
    run=run,
    entry_module="pipelines.face_audit.face_report",
    inputs={"faces": InputSpec(type=FACE_DATASET, description="The faces to count.")},
    outputs={"report": OutputSpec(type=JSON_REPORT, description="report.json: face_rate, faces per video.")},
)

if __name__ == "__main__":
    raise SystemExit(main(COMPONENT))
