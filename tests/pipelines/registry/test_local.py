import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from deepfake.pipelines.registry import ApprovalStatus, LocalRegistry, RegistryError


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    archive, metrics = tmp_path / "model.tar.gz", tmp_path / "evaluation.json"
    archive.write_bytes(b"model bytes")
    metrics.write_text(json.dumps({"binary_classification_metrics": {"auc": {"value": 0.93}}}))
    return archive, metrics


def test_versions_count_up_per_group_and_keep_their_own_files(tmp_path: Path, files: tuple[Path, Path]) -> None:
    registry = LocalRegistry(tmp_path / "registry")
    first = registry.register("detector", *files, "deepfake/serve", ApprovalStatus.PENDING, "run/1")
    second = registry.register("detector", *files, "deepfake/serve", ApprovalStatus.PENDING, "run/2")
    other = registry.register("other", *files, "deepfake/serve", ApprovalStatus.APPROVED, "run/3")
    assert (first.version, second.version, other.version) == (1, 2, 1)
    files[0].unlink()
    assert Path(first.model_data).read_bytes() == b"model bytes"
    assert Path(first.model_data).parent == tmp_path / "registry/detector/1"
    assert first.metrics["binary_classification_metrics"]["auc"]["value"] == 0.93
    assert [package.version for package in registry.list("detector")] == [2, 1]


def test_status_changes_persist(tmp_path: Path, files: tuple[Path, Path]) -> None:
    registry = LocalRegistry(tmp_path / "registry")
    registry.register("detector", *files, "deepfake/serve", ApprovalStatus.PENDING, "run/1")
    registry.set_status("detector", 1, ApprovalStatus.APPROVED)
    assert LocalRegistry(tmp_path / "registry").get("detector", 1).status is ApprovalStatus.APPROVED


def test_an_unknown_version_is_named_with_the_known_ones(tmp_path: Path, files: tuple[Path, Path]) -> None:
    registry = LocalRegistry(tmp_path / "registry")
    registry.register("detector", *files, "deepfake/serve", ApprovalStatus.PENDING, "run/1")
    with pytest.raises(RegistryError, match=r"no version 7 in model group 'detector' \(versions: 1\)"):
        registry.set_status("detector", 7, ApprovalStatus.APPROVED)


def test_concurrent_registrations_get_distinct_versions(tmp_path: Path, files: tuple[Path, Path]) -> None:
    registry = LocalRegistry(tmp_path / "registry")
    with ThreadPoolExecutor(4) as pool:
        packages = list(
            pool.map(
                lambda index: LocalRegistry(tmp_path / "registry").register(
                    "detector", *files, "deepfake/serve", ApprovalStatus.PENDING, f"run/{index}"
                ),
                range(8),
            )
        )
    assert sorted(package.version for package in packages) == list(range(1, 9))
    assert len(registry.list("detector")) == 8


def test_a_file_that_is_not_a_registry_is_one_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "registry.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(RegistryError, match=r"registry.sqlite is not a readable registry \(file is not a database\)"):
        LocalRegistry(tmp_path).list("group")
