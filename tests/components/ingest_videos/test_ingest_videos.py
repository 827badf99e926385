import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import pytest

from deepfake.components.context import RunContext
from deepfake.components.ingest_videos.component import COMPONENT, Params, run
from deepfake.components.manifests import RejectedVideo, VideoRecord, read_jsonl
from deepfake.components.runtime import main
from tests.support.media import face_clip, lying_duration_mkv

FRAMES, FPS, WIDTH, HEIGHT = 5, 10, 64, 48


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real H.264 clip, copied wherever a dataset needs a video: encoding once keeps the module fast."""
    return face_clip(
        tmp_path_factory.mktemp("clip") / "clip.mp4", frames=FRAMES, width=WIDTH, height=HEIGHT, face_height=16, fps=FPS
    )


@dataclass
class Manifest:
    videos: dict[str, VideoRecord]
    rejected: dict[str, str]
    summary: dict[str, object]


def place(clip: Path, root: Path, *relatives: str) -> None:
    for relative in relatives:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(clip, root / relative)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def read_manifest(folder: Path) -> Manifest:
    videos = read_jsonl(folder / "videos.jsonl", VideoRecord)
    assert [video.id for video in videos] == sorted(video.id for video in videos)
    rejected = read_jsonl(folder / "rejected.jsonl", RejectedVideo)
    summary = json.loads((folder / "summary.json").read_text())
    return Manifest({video.id: video for video in videos}, {row.path: row.reason for row in rejected}, summary)


def ingest(root: Path, tmp_path: Path, **params: object) -> Manifest:
    out = tmp_path / "manifest"
    out.mkdir(parents=True, exist_ok=True)
    run(Params.model_validate(params), RunContext(inputs={"videos": root}, outputs={"manifest": out}))
    return read_manifest(out)


def summary_of(manifest: Manifest) -> dict[str, tuple[int, str, str | None]]:
    """id → (label, group, source split), the part of a record each reader decides."""
    return {id_: (video.label, video.group, video.source_split) for id_, video in manifest.videos.items()}


# DFDC


def dfdc_dataset(clip: Path, root: Path) -> Path:
    place(clip, root, "dfdc_train_part_0/a.mp4", "dfdc_train_part_0/b.mp4", "dfdc_train_part_0/c.mp4")
    write(
        root / "dfdc_train_part_0/metadata.json",
        json.dumps(
            {
                "a.mp4": {"label": "REAL", "split": "train"},
                "b.mp4": {"label": "FAKE", "split": "train", "original": "a.mp4"},
                "c.mp4": {"label": "REAL", "split": "val", "original": None},
            }
        ),
    )
    place(clip, root, "nested/dfdc_train_part_1/a.mp4", "nested/dfdc_train_part_1/x.mp4")
    write(
        root / "nested/dfdc_train_part_1/metadata.json",
        json.dumps(
            {
                "x.mp4": {"label": "fake", "split": "train", "original": "a.mp4"},
                "a.mp4": {"label": "real", "split": "train"},
            }
        ),
    )
    return root


def test_dfdc_reads_every_part_and_groups_fakes_with_their_original(clip: Path, tmp_path: Path) -> None:
    manifest = ingest(dfdc_dataset(clip, tmp_path / "dfdc"), tmp_path, format="dfdc")
    assert summary_of(manifest) == {
        "dfdc_train_part_0/a": (0, "dfdc_train_part_0/a", "train"),
        "dfdc_train_part_0/b": (1, "dfdc_train_part_0/a", "train"),
        "dfdc_train_part_0/c": (0, "dfdc_train_part_0/c", "validation"),
        "nested/dfdc_train_part_1/a": (0, "nested/dfdc_train_part_1/a", "train"),
        "nested/dfdc_train_part_1/x": (1, "nested/dfdc_train_part_1/a", "train"),
    }
    video = manifest.videos["dfdc_train_part_0/b"]
    assert video.path == "dfdc_train_part_0/b.mp4" and video.dataset == "dfdc"
    assert (video.frames, video.fps, video.width, video.height) == (FRAMES, FPS, WIDTH, HEIGHT)
    assert video.duration_s == pytest.approx(FRAMES / FPS)
    assert manifest.rejected == {}


def test_dfdc_bad_entries_are_rejected_and_the_rest_kept(clip: Path, tmp_path: Path) -> None:
    root = tmp_path / "dfdc"
    place(clip, root, "part_0/ok.mp4", "part_0/odd.mp4", "part_0/twice.mp4", "part_0/when.mp4", "part_1/lost.mp4")
    write(
        root / "part_0/metadata.json",
        '{"ok.mp4": {"label": "REAL"}, "odd.mp4": {"label": "MAYBE"}, "gone.mp4": {"label": "FAKE"},'
        ' "twice.mp4": {"label": "REAL"}, "twice.mp4": {"label": "FAKE"}, "when.mp4": {"label": "REAL",'
        ' "split": "someday"}, "flat.mp4": "REAL"}',
    )
    write(root / "part_1/metadata.json", '{"lost.mp4": ')
    manifest = ingest(root, tmp_path, format="dfdc")
    assert summary_of(manifest) == {"part_0/ok": (0, "part_0/ok", None), "part_0/twice": (0, "part_0/twice", None)}
    assert "unknown label 'MAYBE'" in manifest.rejected["part_0/odd.mp4"]
    assert manifest.rejected["part_0/gone.mp4"] == "missing file"
    assert manifest.rejected["part_0/twice.mp4"].startswith("duplicate entry: id part_0/twice")
    assert "unknown split 'someday'" in manifest.rejected["part_0/when.mp4"]
    assert "must be an object" in manifest.rejected["part_0/flat.mp4"]
    assert manifest.rejected["part_1/metadata.json"].startswith("cannot read metadata.json")


# FaceForensics++

FF_VIDEOS = (
    "original_sequences/youtube/c23/videos/000.mp4",
    "original_sequences/youtube/c40/videos/000.mp4",
    "original_sequences/youtube/c23/videos/003.mp4",
    "original_sequences/youtube/c23/videos/071.mp4",
    "original_sequences/youtube/c23/videos/054.mp4",
    "original_sequences/youtube/c23/videos/999.mp4",
    "original_sequences/actors/c23/videos/01__meeting_serious.mp4",
    "manipulated_sequences/Deepfakes/c23/videos/000_003.mp4",
    "manipulated_sequences/Face2Face/c23/videos/000_003.mp4",
    "manipulated_sequences/FaceSwap/c40/videos/003_000.mp4",
    "manipulated_sequences/NeuralTextures/c23/videos/071_054.mp4",
    "manipulated_sequences/FaceShifter/c23/videos/054_071.mp4",
    "manipulated_sequences/Deepfakes/c23/videos/010_020.mp4",
    "manipulated_sequences/DeepFakeDetection/c23/videos/01_02__meeting_serious__YVGY8LOK.mp4",
)


def faceforensics_dataset(clip: Path, root: Path) -> Path:
    place(clip, root, *FF_VIDEOS)
    # The official download puts manipulation masks beside the videos; they are not faces to learn from.
    place(clip, root, "manipulated_sequences/Deepfakes/masks/videos/000_003.mp4")
    return root


def test_faceforensics_ids_stay_unique_and_fakes_join_their_target_original(clip: Path, tmp_path: Path) -> None:
    manifest = ingest(faceforensics_dataset(clip, tmp_path / "ff"), tmp_path, format="faceforensics")
    youtube = "original_sequences/youtube/c23/videos"
    groups = {id_: (label, group) for id_, (label, group, _) in summary_of(manifest).items()}
    assert groups == {
        f"{youtube}/000": (0, f"{youtube}/000"),
        "original_sequences/youtube/c40/videos/000": (0, f"{youtube}/000"),
        f"{youtube}/003": (0, f"{youtube}/003"),
        f"{youtube}/071": (0, f"{youtube}/071"),
        f"{youtube}/054": (0, f"{youtube}/054"),
        f"{youtube}/999": (0, f"{youtube}/999"),
        "original_sequences/actors/c23/videos/01__meeting_serious": (
            0,
            "original_sequences/actors/c23/videos/01__meeting_serious",
        ),
        "manipulated_sequences/Deepfakes/c23/videos/000_003": (1, f"{youtube}/000"),
        "manipulated_sequences/Face2Face/c23/videos/000_003": (1, f"{youtube}/000"),
        "manipulated_sequences/FaceSwap/c40/videos/003_000": (1, f"{youtube}/003"),
        "manipulated_sequences/NeuralTextures/c23/videos/071_054": (1, f"{youtube}/071"),
        "manipulated_sequences/FaceShifter/c23/videos/054_071": (1, f"{youtube}/054"),
        # No original 010 on disk: the group is still the id that original would have.
        "manipulated_sequences/Deepfakes/c23/videos/010_020": (1, f"{youtube}/010"),
        "manipulated_sequences/DeepFakeDetection/c23/videos/01_02__meeting_serious__YVGY8LOK": (
            1,
            "original_sequences/actors/c23/videos/01__meeting_serious",
        ),
    }
    assert {video.source_split for video in manifest.videos.values()} == {None}
    assert manifest.summary["format"] == "faceforensics"
    methods = {video.id: video.method for video in manifest.videos.values()}
    assert methods["manipulated_sequences/FaceShifter/c23/videos/054_071"] == "FaceShifter", "the method folder"
    assert methods["manipulated_sequences/Face2Face/c23/videos/000_003"] == "Face2Face"
    assert {methods[video.id] for video in manifest.videos.values() if video.label == 0} == {None}


def test_faceforensics_official_splits_cover_both_originals_and_both_directions(clip: Path, tmp_path: Path) -> None:
    root = faceforensics_dataset(clip, tmp_path / "ff")
    write(root / "splits/train.json", json.dumps([["000", "003"]]))
    write(root / "splits/val.json", json.dumps([["071", "054"]]))
    write(root / "splits/test.json", json.dumps([["010", "020"]]))
    splits = {id_: split for id_, (_, _, split) in summary_of(ingest(root, tmp_path)).items()}
    assert splits == {
        "original_sequences/youtube/c23/videos/000": "train",
        "original_sequences/youtube/c40/videos/000": "train",
        "original_sequences/youtube/c23/videos/003": "train",
        "original_sequences/youtube/c23/videos/071": "validation",
        "original_sequences/youtube/c23/videos/054": "validation",
        "original_sequences/youtube/c23/videos/999": None,
        "original_sequences/actors/c23/videos/01__meeting_serious": None,
        "manipulated_sequences/Deepfakes/c23/videos/000_003": "train",
        "manipulated_sequences/Face2Face/c23/videos/000_003": "train",
        "manipulated_sequences/FaceSwap/c40/videos/003_000": "train",
        "manipulated_sequences/NeuralTextures/c23/videos/071_054": "validation",
        "manipulated_sequences/FaceShifter/c23/videos/054_071": "validation",
        "manipulated_sequences/Deepfakes/c23/videos/010_020": "test",
        "manipulated_sequences/DeepFakeDetection/c23/videos/01_02__meeting_serious__YVGY8LOK": None,
    }


def test_faceforensics_names_without_a_known_original_are_rejected(clip: Path, tmp_path: Path) -> None:
    root = tmp_path / "ff"
    place(
        clip,
        root,
        "original_sequences/youtube/c23/videos/000.mp4",
        "manipulated_sequences/Deepfakes/c23/videos/000-003.mp4",
        "manipulated_sequences/DeepFakeDetection/c23/videos/01_02_meeting.mp4",
    )
    manifest = ingest(root, tmp_path, format="faceforensics")
    assert list(manifest.videos) == ["original_sequences/youtube/c23/videos/000"]
    assert manifest.rejected == {
        "manipulated_sequences/Deepfakes/c23/videos/000-003.mp4": (
            "Deepfakes name is not <target>_<donor>.mp4, so the original it derives from is unknown"
        ),
        "manipulated_sequences/DeepFakeDetection/c23/videos/01_02_meeting.mp4": (
            "DeepFakeDetection name is not <target>_<donor>__<scene>__<tag>.mp4, so the original it derives from is "
            "unknown"
        ),
    }


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[[", "splits/val.json is not valid JSON"),
        ('{"071": "054"}', "splits/val.json must be a list of pairs"),
        ('[["000", "071"]]', "splits/val.json: video 000 is also in the train split"),
    ],
)
def test_faceforensics_broken_split_files_stop_the_run(clip: Path, tmp_path: Path, content: str, problem: str) -> None:
    root = faceforensics_dataset(clip, tmp_path / "ff")
    write(root / "splits/train.json", json.dumps([["000", "003"]]))
    write(root / "splits/val.json", content)
    with pytest.raises(ValueError, match=problem):
        ingest(root, tmp_path, format="faceforensics")


# Celeb-DF v2


def celeb_df_dataset(clip: Path, root: Path) -> Path:
    place(
        clip,
        root,
        "celeb-real/id0_0000.mp4",
        "celeb-real/id1_0003.mp4",
        "YouTube-real/00000.mp4",
        "YouTube-real/00170.mp4",
        "CELEB-SYNTHESIS/id0_id1_0000.mp4",
        "CELEB-SYNTHESIS/id1_id0_0003.mp4",
    )
    write(
        root / "List_of_testing_videos.txt",
        "1 YouTube-real/00170.mp4\n1 Celeb-real/id1_0003.mp4\n0 Celeb-synthesis/id1_id0_0003.mp4\n\n",
    )
    return root


def test_celeb_df_reads_any_folder_case_and_the_test_list_where_1_means_real(clip: Path, tmp_path: Path) -> None:
    manifest = ingest(celeb_df_dataset(clip, tmp_path / "celeb"), tmp_path, format="celeb-df")
    assert summary_of(manifest) == {
        "celeb-real/id0_0000": (0, "celeb-real/id0_0000", "train"),
        "celeb-real/id1_0003": (0, "celeb-real/id1_0003", "test"),
        "YouTube-real/00000": (0, "YouTube-real/00000", "train"),
        "YouTube-real/00170": (0, "YouTube-real/00170", "test"),
        "CELEB-SYNTHESIS/id0_id1_0000": (1, "celeb-real/id0_0000", "train"),
        "CELEB-SYNTHESIS/id1_id0_0003": (1, "celeb-real/id1_0003", "test"),
    }
    assert manifest.rejected == {}
    assert {video.id: video.method for video in manifest.videos.values() if video.method} == {
        "CELEB-SYNTHESIS/id0_id1_0000": "CELEB-SYNTHESIS",
        "CELEB-SYNTHESIS/id1_id0_0003": "CELEB-SYNTHESIS",
    }


def test_celeb_df_list_conflicts_missing_files_and_odd_names_are_rejected(clip: Path, tmp_path: Path) -> None:
    root = tmp_path / "celeb"
    place(clip, root, "Celeb-real/id0_0000.mp4", "Celeb-synthesis/id0_id1_0000.mp4", "Celeb-synthesis/swap.mp4")
    write(root / "List_of_testing_videos.txt", "1 Celeb-synthesis/id0_id1_0000.mp4\n1 Celeb-real/id9_0001.mp4\n")
    manifest = ingest(root, tmp_path, format="celeb-df")
    assert summary_of(manifest) == {"Celeb-real/id0_0000": (0, "Celeb-real/id0_0000", "train")}
    assert manifest.rejected == {
        "Celeb-synthesis/id0_id1_0000.mp4": (
            "List_of_testing_videos.txt marks it REAL but it is in Celeb-synthesis/; fix the list or move the file"
        ),
        "Celeb-real/id9_0001.mp4": "missing file: listed in List_of_testing_videos.txt",
        "Celeb-synthesis/swap.mp4": (
            "Celeb-synthesis name is not idA_idB_NNNN.mp4, so the original it derives from is unknown"
        ),
    }


def test_celeb_df_malformed_test_list_stops_the_run(clip: Path, tmp_path: Path) -> None:
    root = celeb_df_dataset(clip, tmp_path / "celeb")
    write(root / "List_of_testing_videos.txt", "1 YouTube-real/00170.mp4\nREAL YouTube-real/00000.mp4\n")
    with pytest.raises(ValueError, match=r"List_of_testing_videos\.txt line 2: expected '<1 real\|0 fake>"):
        ingest(root, tmp_path, format="celeb-df")


# CSV


def test_csv_with_only_path_and_label_accepts_every_label_spelling(clip: Path, tmp_path: Path) -> None:
    root = tmp_path / "csv"
    place(clip, root, "a.mp4", "b.mp4", "sub/c.mp4", "sub/d.mp4", "e.mp4")
    write(root / "labels.csv", "path,label\na.mp4,0\nb.mp4,1\nsub/c.mp4,Real\nsub/d.mp4, FAKE \n./e.mp4,real\n")
    manifest = ingest(root, tmp_path)
    assert summary_of(manifest) == {
        "a": (0, "a", None),
        "b": (1, "b", None),
        "sub/c": (0, "sub/c", None),
        "sub/d": (1, "sub/d", None),
        "e": (0, "e", None),
    }
    assert manifest.videos["e"].path == "e.mp4" and manifest.summary["format"] == "csv"


def test_csv_with_group_and_split_columns_in_any_order_and_case(clip: Path, tmp_path: Path) -> None:
    root = tmp_path / "csv"
    place(clip, root, "a.mp4", "b.mp4", "c.mp4", "d.mp4")
    write(
        root / "meta/list.csv",
        "Split,PATH,Label,group\ntrain,a.mp4,0,\nval,b.mp4,1,a\nValidation,c.mp4,fake,a\n,d.mp4,1,\n",
    )
    manifest = ingest(root, tmp_path, csv_file="meta/list.csv")
    assert summary_of(manifest) == {
        "a": (0, "a", "train"),
        "b": (1, "a", "validation"),
        "c": (1, "a", "validation"),
        "d": (1, "d", None),
    }


def test_a_csv_method_column_names_each_fakes_manipulation_and_a_real_may_not_have_one(
    clip: Path, tmp_path: Path
) -> None:
    root = tmp_path / "csv"
    place(clip, root, "a.mp4", "b.mp4", "c.mp4", "d.mp4")
    write(root / "labels.csv", "path,label,method\na.mp4,0,\nb.mp4,1,FaceSwap\nc.mp4,1,\nd.mp4,0,FaceSwap\n")
    manifest = ingest(root, tmp_path)
    assert {video.id: video.method for video in manifest.videos.values()} == {"a": None, "b": "FaceSwap", "c": None}
    assert manifest.rejected == {
        "d.mp4": "labels.csv line 5: a REAL video has no manipulation method ('FaceSwap'); clear it"
    }


def test_csv_rows_with_unknown_labels_splits_or_no_path_are_rejected(clip: Path, tmp_path: Path) -> None:
    root = tmp_path / "csv"
    place(clip, root, "a.mp4", "b.mp4", "c.mp4")
    write(root / "labels.csv", "path,label,split\na.mp4,0,test\nb.mp4,2,train\nc.mp4,1,holdout\n,1,train\n")
    manifest = ingest(root, tmp_path)
    assert summary_of(manifest) == {"a": (0, "a", "test")}
    assert manifest.rejected == {
        "b.mp4": "labels.csv line 3: unknown label '2'; expected real, fake, 0, 1 (any case)",
        "c.mp4": "labels.csv line 4: unknown split 'holdout'; expected train, val, validation, test or none",
        "labels.csv line 5": "empty path",
    }


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("path,label,spilt", "unknown: spilt"),
        ("file,label", "header file,label must be path,label"),
        ("", r"header \(empty\)"),
    ],
)
def test_csv_with_a_wrong_header_names_the_columns(clip: Path, tmp_path: Path, header: str, problem: str) -> None:
    root = tmp_path / "csv"
    place(clip, root, "a.mp4")
    write(root / "labels.csv", f"{header}\n" if header else "")
    with pytest.raises(ValueError, match=problem):
        ingest(root, tmp_path, format="csv")


def test_paths_that_escape_the_root_are_rejected(clip: Path, tmp_path: Path) -> None:
    root = tmp_path / "csv"
    place(clip, tmp_path, "outside.mp4")
    place(clip, root, "inside.mp4")
    (root / "link.mp4").symlink_to(tmp_path / "outside.mp4")
    write(
        root / "labels.csv", f"path,label\ninside.mp4,0\n{tmp_path / 'outside.mp4'},1\n../outside.mp4,1\nlink.mp4,1\n"
    )
    manifest = ingest(root, tmp_path)
    assert list(manifest.videos) == ["inside"]
    assert manifest.rejected == {
        str(tmp_path / "outside.mp4"): (
            f"path '{tmp_path / 'outside.mp4'}' must be relative and stay inside the dataset root"
        ),
        "../outside.mp4": "path '../outside.mp4' must be relative and stay inside the dataset root",
        "link.mp4": "path 'link.mp4' leads outside the dataset root through a link",
    }


def test_duplicate_entries_keep_the_first_listing(clip: Path, tmp_path: Path) -> None:
    root = tmp_path / "csv"
    place(clip, root, "a.mp4", "a.avi")
    write(root / "labels.csv", "path,label\na.mp4,1\n./a.mp4,0\na.avi,0\n")
    manifest = ingest(root, tmp_path)
    assert summary_of(manifest) == {"a": (1, "a", None)}
    assert manifest.rejected == {
        "./a.mp4": "duplicate entry: id a is already listed as a.mp4",
        "a.avi": "duplicate entry: id a is already listed as a.mp4",
    }


def header_only_mp4(path: Path, template: Path) -> None:
    """An MP4 with a video stream and no frame in it."""
    with av.open(str(template)) as source, av.open(str(path), mode="w") as container:
        container.add_stream_from_template(source.streams.video[0])
        container.start_encoding()


def test_videos_that_cannot_be_used_are_rejected_with_the_reason(clip: Path, tmp_path: Path) -> None:
    root = tmp_path / "csv"
    place(clip, root, "good.mp4")
    (root / "empty.mp4").write_bytes(b"")
    (root / "garbage.mp4").write_bytes(b"not a video at all" * 100)
    header_only_mp4(root / "no_frames.mp4", clip)
    write(root / "labels.csv", "path,label\ngood.mp4,0\nempty.mp4,1\ngarbage.mp4,1\nno_frames.mp4,1\nmissing.mp4,1\n")
    manifest = ingest(root, tmp_path)
    assert list(manifest.videos) == ["good"]
    assert manifest.rejected["empty.mp4"] == "empty file"
    assert manifest.rejected["missing.mp4"] == "missing file"
    assert manifest.rejected["garbage.mp4"].startswith("unreadable video:")
    assert manifest.rejected["no_frames.mp4"] == "no video stream"  # FFmpeg lists no stream that holds no frame


def test_nothing_usable_fails_with_the_counts_and_first_reasons(clip: Path, tmp_path: Path) -> None:
    root = tmp_path / "csv"
    (root / "empty.mp4").parent.mkdir(parents=True)
    (root / "empty.mp4").write_bytes(b"")
    write(root / "labels.csv", "path,label\nempty.mp4,1\nmissing.mp4,0\nx.mp4,maybe\n")
    with pytest.raises(ValueError) as failure:
        ingest(root, tmp_path)
    assert str(failure.value) == (
        "no usable video in csv dataset: 3 listed, 3 rejected (first: empty.mp4: empty file; missing.mp4: missing "
        "file; x.mp4: labels.csv line 4: unknown label 'maybe'; expected real, fake, 0, 1 (any case)); see "
        "rejected.jsonl"
    )
    assert len(read_jsonl(tmp_path / "manifest/rejected.jsonl", RejectedVideo)) == 3


def test_an_empty_dataset_fails_pointing_at_the_params(tmp_path: Path) -> None:
    root = tmp_path / "ff"
    (root / "original_sequences").mkdir(parents=True)
    with pytest.raises(ValueError, match="0 listed, 0 rejected; check the format and csv_file params"):
        ingest(root, tmp_path)


# Unlabeled videos (batch scoring)


def test_unlabeled_lists_every_video_file_under_the_root_without_labels(clip: Path, tmp_path: Path) -> None:
    root = tmp_path / "inbox"
    place(clip, root, "a.mp4", "day 2/B.MOV", "day 2/deep/c.webm", ".cache/hidden.mp4", "day 2/.d.mp4", "e.mp4.part")
    place(clip, tmp_path, "outside.mp4")
    (root / "link.mp4").symlink_to(tmp_path / "outside.mp4")
    write(root / "labels.csv", "path,label\na.mp4,1\n")
    write(root / "notes.txt", "not a video")
    manifest = ingest(root, tmp_path, format="unlabeled")
    assert summary_of(manifest) == {
        "a": (None, "a", None),
        "day 2/B": (None, "day 2/B", None),
        "day 2/deep/c": (None, "day 2/deep/c", None),
    }
    assert list(manifest.rejected) == ["link.mp4"] and "outside the dataset root" in manifest.rejected["link.mp4"]
    assert manifest.summary["unlabeled"] == 3 and manifest.summary["real"] == manifest.summary["fake"] == 0
    assert {video.dataset for video in manifest.videos.values()} == {"unlabeled"}


def test_unlabeled_with_no_video_file_fails_pointing_at_the_params(tmp_path: Path) -> None:
    write(tmp_path / "inbox/readme.txt", "no videos here")
    with pytest.raises(ValueError, match="no usable video in unlabeled dataset: 0 listed"):
        ingest(tmp_path / "inbox", tmp_path, format="unlabeled")


# Auto-detection, summary, limits


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (dfdc_dataset, "dfdc"),
        (faceforensics_dataset, "faceforensics"),
        (celeb_df_dataset, "celeb-df"),
    ],
)
def test_auto_detection_recognises_each_layout(
    clip: Path, tmp_path: Path, build: Callable[[Path, Path], Path], expected: str
) -> None:
    manifest = ingest(build(clip, tmp_path / "data"), tmp_path)
    assert manifest.summary["format"] == expected and manifest.summary["detected"] is True
    assert {video.dataset for video in manifest.videos.values()} == {expected}


def test_auto_detection_without_a_match_says_what_it_looked_for(clip: Path, tmp_path: Path) -> None:
    place(clip, tmp_path / "data", "videos/a.mp4")
    with pytest.raises(ValueError) as failure:
        ingest(tmp_path / "data", tmp_path)
    message = str(failure.value)
    for looked_for in ("metadata.json", "original_sequences/", "Celeb-real/", "labels.csv", "set the format param"):
        assert looked_for in message
    assert "the batch-scoring pipeline reads them (format unlabeled)" in message


def test_auto_detection_refuses_to_guess_between_layouts(clip: Path, tmp_path: Path) -> None:
    root = faceforensics_dataset(clip, tmp_path / "data")
    write(root / "labels.csv", "path,label\n")
    with pytest.raises(ValueError, match=r"matches several formats \(faceforensics, csv\); set the format param"):
        ingest(root, tmp_path)
    assert ingest(root, tmp_path, format="faceforensics").summary["format"] == "faceforensics"


def test_summary_counts_labels_and_source_splits(clip: Path, tmp_path: Path) -> None:
    root = celeb_df_dataset(clip, tmp_path / "celeb")
    place(clip, root, "CELEB-SYNTHESIS/oops.mp4")
    (root / "YouTube-real/00001.mp4").write_bytes(b"")
    assert ingest(root, tmp_path, format="celeb-df").summary == {
        "format": "celeb-df",
        "detected": False,
        "listed": 8,
        "accepted": 6,
        "rejected": 2,
        "skipped_by_max_videos": 0,
        "real": 4,
        "fake": 2,
        "unlabeled": 0,
        "groups": 4,
        "source_splits": {
            "train": {"videos": 3, "real": 2, "fake": 1},
            "validation": {"videos": 0, "real": 0, "fake": 0},
            "test": {"videos": 3, "real": 2, "fake": 1},
            "none": {"videos": 0, "real": 0, "fake": 0},
        },
    }


def test_max_videos_keeps_the_first_ids_whatever_the_workers(clip: Path, tmp_path: Path) -> None:
    root = faceforensics_dataset(clip, tmp_path / "ff")
    serial = ingest(root, tmp_path / "serial", max_videos=4, workers=1)
    parallel = ingest(root, tmp_path / "parallel", max_videos=4, workers=4)
    assert list(serial.videos) == [
        "manipulated_sequences/DeepFakeDetection/c23/videos/01_02__meeting_serious__YVGY8LOK",
        "manipulated_sequences/Deepfakes/c23/videos/000_003",
        "manipulated_sequences/Deepfakes/c23/videos/010_020",
        "manipulated_sequences/Face2Face/c23/videos/000_003",
    ]
    assert serial.videos == parallel.videos
    assert serial.summary["skipped_by_max_videos"] == len(FF_VIDEOS) - 4


# Through the container runtime


@pytest.fixture
def base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path / "opt_ml"))
    return tmp_path / "opt_ml"


def test_the_runtime_runs_the_component_from_container_arguments(clip: Path, base: Path) -> None:
    celeb_df_dataset(clip, base / "processing/input/videos")
    assert main(COMPONENT, ["--workers", "2", "--max-videos", "5"]) == 0
    manifest = read_manifest(base / "processing/output/manifest")
    assert len(manifest.videos) == 5 and manifest.summary["format"] == "celeb-df"
    assert not (base / "output/message").exists()


@pytest.mark.parametrize(
    ("argv", "code", "problem"),
    [
        (["--format", "youtube"], 2, "parameter 'format'"),
        (["--csv-file", "../labels.csv"], 2, "parameter 'csv_file': Value error, must be a path relative"),
        (["--workers", "0"], 2, "parameter 'workers'"),
        (["--colour", "red"], 2, "unknown parameter 'colour'"),
        ([], 1, "ValueError: cannot tell the dataset format"),
    ],
)
def test_the_runtime_reports_bad_params_and_unknown_layouts(
    base: Path, argv: list[str], code: int, problem: str
) -> None:
    (base / "processing/input/videos").mkdir(parents=True)
    assert main(COMPONENT, argv) == code
    assert problem in (base / "output/message").read_text()


# Hostile datasets: nothing outside the root is read, nothing blocks, nothing crashes the step
HOSTILE_FILES = {
    "link-outside": lambda path, outside: path.symlink_to(outside),
    "link-to-dev-zero": lambda path, outside: path.symlink_to("/dev/zero"),
    "fifo": lambda path, outside: os.mkfifo(path),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", sorted(HOSTILE_FILES))
def test_a_dfdc_metadata_json_that_is_not_a_regular_file_inside_loses_only_its_part(
    clip: Path, tmp_path: Path, kind: str
) -> None:
    root = tmp_path / "dfdc"
    place(clip, root, "part_0/a.mp4", "part_1/b.mp4")
    write(root / "part_0/metadata.json", json.dumps({"a.mp4": {"label": "REAL", "split": "train"}}))
    outside = write(tmp_path / "outside.json", json.dumps({"b.mp4": {"label": "FAKE", "original": "a.mp4"}}))
    HOSTILE_FILES[kind](root / "part_1/metadata.json", outside)
    manifest = ingest(root, tmp_path, format="dfdc")
    assert set(manifest.videos) == {"part_0/a"}, "entries of a file outside the root are never accepted"
    reason = manifest.rejected["part_1/metadata.json"]
    assert reason.startswith("cannot read metadata.json: part_1/metadata.json ") and "skipped" in reason


def test_a_dfdc_metadata_json_with_a_byte_order_mark_is_read(clip: Path, tmp_path: Path) -> None:
    root = tmp_path / "dfdc"
    place(clip, root, "part_0/a.mp4")
    (root / "part_0/metadata.json").write_bytes(b"\xef\xbb\xbf" + json.dumps({"a.mp4": {"label": "REAL"}}).encode())
    assert set(ingest(root, tmp_path, format="dfdc").videos) == {"part_0/a"}


@pytest.mark.timeout(60)
def test_listed_videos_that_loop_block_or_lead_out_are_rejected_and_the_rest_ingested(
    clip: Path, tmp_path: Path
) -> None:
    root = tmp_path / "csv"
    place(clip, root, "ok.mp4")
    (root / "loop.mp4").symlink_to(root / "loop2.mp4")
    (root / "loop2.mp4").symlink_to(root / "loop.mp4")
    os.mkfifo(root / "pipe.mp4")
    (root / "zero.mp4").symlink_to("/dev/zero")
    rows = "".join(f"{name},REAL\n" for name in ("ok.mp4", "loop.mp4", "pipe.mp4", "zero.mp4"))
    write(root / "labels.csv", "path,label\n" + rows)
    manifest = ingest(root, tmp_path, format="csv")
    assert set(manifest.videos) == {"ok"}
    assert "symlink loop" in manifest.rejected["loop.mp4"]
    assert "not a regular file" in manifest.rejected["pipe.mp4"]
    assert "leads outside the dataset root" in manifest.rejected["zero.mp4"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("listing", "fmt"), [("splits/train.json", "faceforensics"), ("List_of_testing_videos.txt", "celeb-df")]
)
def test_a_split_list_linked_from_outside_the_root_stops_the_run_naming_it(
    clip: Path, tmp_path: Path, listing: str, fmt: str
) -> None:
    root = faceforensics_dataset(clip, tmp_path / "ff") if fmt == "faceforensics" else tmp_path / "celeb"
    if fmt == "celeb-df":
        place(clip, root, "Celeb-real/id0_0000.mp4")
    outside = write(tmp_path / "outside.txt", "[]")
    (root / listing).parent.mkdir(parents=True, exist_ok=True)
    (root / listing).symlink_to(outside)
    with pytest.raises(ValueError, match=rf"{listing} is a link to .*, outside the dataset root"):
        ingest(root, tmp_path, format=fmt)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("path,label\ncaf\xe9.mp4,REAL\n".encode("latin-1"), r"labels.csv is not UTF-8 text .*save it as UTF-8"),
        (b'path,label\n"' + b"x" * 200_000 + b'",REAL\n', r"labels.csv: not a readable CSV \(field larger than"),
    ],
    ids=["latin-1", "huge-field"],
)
def test_an_unreadable_labels_csv_fails_naming_the_file(tmp_path: Path, content: bytes, problem: str) -> None:
    root = tmp_path / "csv"
    root.mkdir()
    (root / "labels.csv").write_bytes(content)
    with pytest.raises(ValueError, match=problem):
        ingest(root, tmp_path, format="csv")


def test_a_header_that_lies_about_the_duration_is_listed_with_the_frames_it_holds(clip: Path, tmp_path: Path) -> None:
    root = tmp_path / "csv"
    place(clip, root, "ok.mp4")
    lying_duration_mkv(root / "lying.mkv")
    write(root / "labels.csv", "path,label\nok.mp4,REAL\nlying.mkv,FAKE\n")
    manifest = ingest(root, tmp_path, format="csv", workers=1)
    assert set(manifest.videos) == {"ok", "lying"}
    assert (manifest.videos["lying"].frames, manifest.videos["lying"].duration_s) == (5, 0.5)


def test_frames_over_the_pixel_limit_are_rejected_at_ingest(tmp_path: Path) -> None:
    root = tmp_path / "csv"
    face_clip(root / "wide.mp4", frames=3, width=160, height=120, face_height=40)
    write(root / "labels.csv", "path,label\nwide.mp4,REAL\n")
    with pytest.raises(ValueError, match="no usable video"):
        ingest(root, tmp_path, format="csv", max_frame_pixels=160 * 120 - 1)
    reasons = read_jsonl(tmp_path / "manifest" / "rejected.jsonl", RejectedVideo)
    assert [row.reason for row in reasons] == [
        "resolution 160x120 is over the limit of 19199 pixels (param max_frame_pixels)"
    ]
