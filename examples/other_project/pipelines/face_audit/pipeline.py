"""Another project's pipeline: two library components loaded from their exported JSON specs, plus one of its own.

    cd examples/other_project
    python -m deepfake.pipelines run pipeline.py:pipeline --param Videos=../../data/demo

ingest-videos and extract-faces come from `specs/` (or from the folder or http(s) URL in $OTHER_PROJECT_SPECS),
pinned to the versions this pipeline was written against: a spec of another version stops the pipeline before
anything runs. face-report is this project's own component (face_report.py, run as `python -m face_report`, so
the pipeline runs from this folder). No module of the library's components is imported: the specs say everything.
"""

import os
from pathlib import Path

from deepfake.components import load_component
from deepfake.pipelines import Pipeline, ge
from pipelines.face_audit import face_report

SPECS = os.environ.get("OTHER_PROJECT_SPECS", str(Path(__file__).resolve().parents[2] / "specs")).rstrip("/")
PINS = {"ingest-videos": "1.4.0", "extract-faces": "2.4.0"}

ingest_videos = load_component(f"{SPECS}/ingest-videos.json", version=PINS["ingest-videos"])
extract_faces = load_component(f"{SPECS}/extract-faces.json", version=PINS["extract-faces"])

pipeline = Pipeline("face-audit", description=__doc__.split("\n")[0])
videos = pipeline.parameter("Videos", str, "../../data/demo", "Folder or s3:// prefix of videos.")
dataset_format = pipeline.parameter("Format", str, "unlabeled", "ingest-videos format: unlabeled, auto, csv ...")
max_videos = pipeline.parameter("MaxVideos", int, 8, "Videos taken (the first by id).")
frames = pipeline.parameter("FramesPerVideo", int, 4, "Frames sampled from each video.")
min_face_rate = pipeline.parameter("MinFaceRate", float, 0.5, "The share of videos that must show a face.")

ingest = pipeline.step(
    "ingest", ingest_videos, params={"format": dataset_format, "max_videos": max_videos}, inputs={"videos": videos}
)
extract = pipeline.step(
    "extract",
    extract_faces,
    params={"frames_per_video": frames, "face_size": 112},
    inputs={"manifest": ingest.output("manifest"), "videos": videos},
)
report = pipeline.step("face-report", face_report.COMPONENT, inputs={"faces": extract.output("faces")})
face_rate = report.report_value("report", "report.json", "face_rate")
too_few = pipeline.fail("too-few-faces", ["face rate", face_rate, "is below MinFaceRate", min_face_rate])
pipeline.condition("check-face-rate", ge(face_rate, min_face_rate), if_false=[too_few])
