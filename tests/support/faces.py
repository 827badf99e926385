"""Reading a FaceDataset's rows whole, as the tests compare them (the components stream them)."""

from pathlib import Path

from deepfake.components.manifests import FaceRecord, Split, face_files, read_jsonl


def read_faces(folder: Path) -> list[FaceRecord]:
    """Every face of a FaceDataset, whether one host wrote it or several, sorted by (video, frame, track)."""
    rows = [row for path in face_files(folder) for row in read_jsonl(path, FaceRecord)]
    return sorted(rows, key=lambda row: (row.video_id, row.frame_index, row.track))


def face_row(
    video: str, frame: int = 0, label: int | None = None, group: str | None = None, source_split: Split | None = None
) -> FaceRecord:
    """A face row as the stage tests write them: its crop at faces/<video>/<frame>.jpg, its group the video's own
    unless given."""
    return FaceRecord(
        video_id=video,
        frame_index=frame,
        image=f"faces/{video}/{frame:05d}.jpg",
        box=(0, 0, 32, 32),
        score=0.9,
        label=label,
        group=group or video,
        source_split=source_split,
    )
