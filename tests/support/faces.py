"""Reading a FaceDataset's rows whole, as the tests compare them (the components stream them)."""

from pathlib import Path

from deepfake.components.manifests import FaceRecord, face_files, read_jsonl


def read_faces(folder: Path) -> list[FaceRecord]:
    """Every face of a FaceDataset, whether one host wrote it or several, sorted by (video, frame, track)."""
    rows = [row for path in face_files(folder) for row in read_jsonl(path, FaceRecord)]
    return sorted(rows, key=lambda row: (row.video_id, row.frame_index, row.track))
