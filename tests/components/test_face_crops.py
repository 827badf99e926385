import io
import pickle
import re
import tarfile
from pathlib import Path

import pytest

from deepfake.components.face_crops import MAX_CROP_BYTES, FaceCrops, shard_image


def write_shard(path: Path, members: dict[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as archive:
        for name, data in members.items():
            member = tarfile.TarInfo(name)
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))


def test_both_layouts_open_by_their_image_field(tmp_path: Path) -> None:
    (tmp_path / "faces/v").mkdir(parents=True)
    (tmp_path / "faces/v/1-0.jpg").write_bytes(b"loose")
    write_shard(tmp_path / "shards/a-00000.tar", {"faces/v/2-0.jpg": b"packed", "faces/v/3-0.jpg": b"other"})
    crops = FaceCrops(tmp_path)
    assert crops.open("faces/v/1-0.jpg").read() == b"loose"
    assert crops.open(shard_image("shards/a-00000.tar", "faces/v/3-0.jpg")).read() == b"other"
    assert crops.exists(shard_image("shards/a-00000.tar", "faces/v/2-0.jpg"))
    assert not crops.exists(shard_image("shards/a-00000.tar", "faces/v/9-0.jpg"))
    with pytest.raises(ValueError, match=re.escape("has no member 'faces/v/9-0.jpg'")):
        crops.open(shard_image("shards/a-00000.tar", "faces/v/9-0.jpg"))


def test_a_shard_outside_the_dataset_unreadable_or_compressed_is_refused(tmp_path: Path) -> None:
    (tmp_path / "shards").mkdir()
    (tmp_path / "shards/broken.tar").write_bytes(b"not a tar" * 100)
    with tarfile.open(tmp_path / "shards/packed.tar.gz", "w:gz") as archive:
        archive.addfile(tarfile.TarInfo("faces/x.jpg"), io.BytesIO(b""))
    crops = FaceCrops(tmp_path)
    with pytest.raises(ValueError, match="stay inside the dataset root"):
        crops.exists("../elsewhere.tar#faces/x.jpg")
    with pytest.raises(ValueError, match=re.escape("shard shards/broken.tar cannot be read")):
        crops.exists("shards/broken.tar#faces/x.jpg")
    with pytest.raises(ValueError, match=re.escape("shard shards/packed.tar.gz cannot be read")):
        crops.exists("shards/packed.tar.gz#faces/x.jpg")


def test_members_that_are_not_small_regular_files_are_not_offered(tmp_path: Path) -> None:
    path = tmp_path / "shards/a.tar"
    path.parent.mkdir()
    with tarfile.open(path, "w") as archive:
        link = tarfile.TarInfo("faces/link.jpg")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
        huge = tarfile.TarInfo("faces/huge.jpg")
        huge.size = MAX_CROP_BYTES + 1
        archive.addfile(huge, io.BytesIO(bytes(huge.size)))
    crops = FaceCrops(tmp_path)
    assert not crops.exists("shards/a.tar#faces/link.jpg") and not crops.exists("shards/a.tar#faces/huge.jpg")


def test_a_pickled_reader_reopens_its_shards_in_the_process_that_unpickles_it(tmp_path: Path) -> None:
    write_shard(tmp_path / "shards/a.tar", {"faces/1.jpg": b"one"})
    crops = FaceCrops(tmp_path)
    assert crops.open("shards/a.tar#faces/1.jpg").read() == b"one"
    copy = pickle.loads(pickle.dumps(crops))
    assert not copy._shards, "no descriptor of this process travels"
    assert copy.open("shards/a.tar#faces/1.jpg").read() == b"one"
