"""The data stages every built-in pipeline starts with: ingest-videos, then extract-faces on the same dataset."""

from deepfake.pipelines.builtin.library import spec
from deepfake.pipelines.dag import ComponentStep, ParamRef, Pipeline

EXTRACT_FACES = spec("extract-faces")
INGEST_VIDEOS = spec("ingest-videos")
LABELLED_FORMATS = ("auto", "dfdc", "faceforensics", "celeb-df", "csv")


def shard_size_parameter(pipeline: Pipeline) -> ParamRef:
    return pipeline.parameter(
        "FaceShardSize",
        int,
        0,
        "Crops a tar shard of the FaceDataset (streamed by SageMaker training); 0 keeps loose JPEG files.",
    )


def face_stages(
    pipeline: Pipeline,
    data: ParamRef,
    dataset_format: ParamRef,
    frames: ParamRef,
    face_size: ParamRef,
    shard_size: ParamRef,
) -> tuple[ComponentStep, ComponentStep]:
    """extract-faces reads the videos from the folder ingest listed them in (never a copy); returns both steps."""
    ingest = pipeline.step("ingest-videos", INGEST_VIDEOS, params={"format": dataset_format}, inputs={"videos": data})
    extract = pipeline.step(
        "extract-faces",
        EXTRACT_FACES,
        params={"frames_per_video": frames, "face_size": face_size, "shard_size": shard_size},
        inputs={"manifest": ingest.output("manifest"), "videos": data},
    )
    return ingest, extract
