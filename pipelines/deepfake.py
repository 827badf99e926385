"""The deepfake-detection pipeline, defined once: the local runner runs this object and the compilers translate it.

    python -m pipelines run deepfake --param InputData=data/demo

ingest-videos → extract-faces → split-dataset (the data stages; training, evaluation and the quality gate follow).
"""

from components.extract_faces.component import COMPONENT as EXTRACT_FACES
from components.ingest_videos.component import COMPONENT as INGEST_VIDEOS
from components.split_dataset.component import COMPONENT as SPLIT_DATASET
from pipelines.dag import Pipeline


def build_pipeline() -> Pipeline:
    pipeline = Pipeline("deepfake", description=__doc__.split("\n")[0])
    data = pipeline.parameter(
        "InputData", str, "data/demo", "Dataset folder or s3:// prefix: DFDC, FaceForensics++, Celeb-DF v2 or a CSV."
    )
    dataset_format = pipeline.parameter("DatasetFormat", str, "auto", "auto, dfdc, faceforensics, celeb-df or csv.")
    frames = pipeline.parameter("FramesPerVideo", int, 16, "Frames sampled from each video.")
    face_size = pipeline.parameter("FaceSize", int, 128, "Side of the face crops, in pixels.")
    seed = pipeline.parameter("Seed", int, 0, "Seed of the split (and, later, of training).")

    ingest = pipeline.step("ingest-videos", INGEST_VIDEOS, params={"format": dataset_format}, inputs={"videos": data})
    extract = pipeline.step(
        "extract-faces",
        EXTRACT_FACES,
        params={"frames_per_video": frames, "face_size": face_size},
        inputs={"manifest": ingest.output("manifest"), "videos": data},
    )
    pipeline.step("split-dataset", SPLIT_DATASET, params={"seed": seed}, inputs={"faces": extract.output("faces")})
    return pipeline


pipeline = build_pipeline()
