"""The batch-scoring pipeline: the deepfake pipeline's data stages and a registered model give every video a verdict.

    python -m deepfake.pipelines run batch-scoring --param InputData=videos/ \
        --param ModelData=runs/registry/deepfake-detector/1

ingest-videos (unlabeled by default: every video file under InputData) → extract-faces → score-videos, which writes
verdicts.jsonl / verdicts.csv and summary.json / report.md. ModelData is a model folder, a folder holding
model.tar.gz (a local registry version), a model.tar.gz file, or an s3:// prefix (on SageMaker also the
model.tar.gz URI itself). FaceSize must be the model's input size (model.json image_size); score-videos refuses
crops of another size, naming the value to set. The threshold and the aggregation are the model's own.
"""

from deepfake.pipelines.builtin.library import spec
from deepfake.pipelines.builtin.stages import LABELLED_FORMATS, face_stages, shard_size_parameter
from deepfake.pipelines.dag import Pipeline

SCORE_VIDEOS = spec("score-videos")


def build_pipeline() -> Pipeline:
    pipeline = Pipeline("batch-scoring", description=__doc__.split("\n")[0])
    data = pipeline.parameter("InputData", str, "data/inbox", "Folder or s3:// prefix of the videos to score.")
    model = pipeline.parameter(
        "ModelData", str, "runs/registry/deepfake-detector/1", "Model folder, model.tar.gz or s3:// prefix."
    )
    dataset_format = pipeline.parameter(
        "DatasetFormat",
        str,
        "unlabeled",
        "unlabeled (every video file), or a labelled layout.",
        choices=("unlabeled", *LABELLED_FORMATS),
    )
    frames = pipeline.parameter("FramesPerVideo", int, 12, "Frames sampled from each video.")
    face_size = pipeline.parameter("FaceSize", int, 64, "Side of the face crops: the model's image_size.")
    min_faces = pipeline.parameter("MinFaces", int, 1, "A video with fewer faces found is UNSCORABLE.")

    ingest, extract = face_stages(pipeline, data, dataset_format, frames, face_size, shard_size_parameter(pipeline))
    pipeline.step(
        "score-videos",
        SCORE_VIDEOS,
        params={"min_faces": min_faces},
        inputs={"model": model, "manifest": ingest.output("manifest"), "faces": extract.output("faces")},
    )
    return pipeline


pipeline = build_pipeline()
