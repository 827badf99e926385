import http.server
import io
import json
import random
import tarfile
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from deepfake.components import ArtifactError, ArtifactType, Component, ComponentKind, OutputSpec, load_component
from deepfake.components.artifacts import JSON_REPORT, ArchiveLimits, pack_archive, unpack_archive
from deepfake.components.spec import ComponentLoadError, ComponentSpec, MetricSpec
from examples.quickstart import summarize_numbers
from tests.toy import fit_mean


@pytest.fixture
def spec_server(tmp_path: Path) -> Iterator[str]:
    """Serves tmp_path on 127.0.0.1 for as long as the test runs."""
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_spec_export_carries_the_params_json_schema() -> None:
    spec = summarize_numbers.COMPONENT.spec
    assert spec.params_schema["properties"]["scale"]["exclusiveMinimum"] == 0
    assert spec.entrypoint == ("python", "-m", "examples.quickstart.summarize_numbers")
    assert spec.inputs["numbers"].type.name == "Numbers"


def test_spec_round_trips_through_a_file(tmp_path: Path) -> None:
    path = tmp_path / "summarize.json"
    path.write_text(summarize_numbers.COMPONENT.spec.to_json())
    assert load_component(path) == summarize_numbers.COMPONENT.spec
    assert load_component(f"file://{path}", version="1.0.0") == summarize_numbers.COMPONENT.spec


def test_spec_loads_from_a_url(tmp_path: Path, spec_server: str) -> None:
    (tmp_path / "fit-mean.json").write_text(fit_mean.COMPONENT.spec.to_json())
    assert load_component(f"{spec_server}/fit-mean.json") == fit_mean.COMPONENT.spec


def test_an_unreachable_url_is_a_clear_error(spec_server: str) -> None:
    with pytest.raises(ComponentLoadError, match="cannot fetch the component spec"):
        load_component(f"{spec_server}/missing.json")


def test_a_pinned_version_mismatch_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "summarize.json"
    path.write_text(summarize_numbers.COMPONENT.spec.to_json())
    with pytest.raises(ComponentLoadError, match=r"is version 1\.0\.0, but the pipeline pins 2\.0\.0"):
        load_component(path, version="2.0.0")


@pytest.mark.parametrize(
    ("content", "problem"),
    [("{", "not a valid component spec"), ('{"name": "x"}', "not a valid component spec")],
)
def test_a_file_that_is_not_a_spec_is_refused(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ComponentLoadError, match=problem):
        load_component(path)


def test_unsupported_scheme_and_missing_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ComponentLoadError, match="unsupported scheme 'ftp'"):
        load_component("ftp://example/x.json")
    with pytest.raises(ComponentLoadError, match="no such spec file"):
        load_component(tmp_path / "none.json")


def test_training_components_have_exactly_one_model_output() -> None:
    data = fit_mean.COMPONENT.spec.model_dump()
    data["outputs"]["metrics"] = {"type": JSON_REPORT}
    with pytest.raises(ValidationError, match="exactly one output named 'model'"):
        ComponentSpec.model_validate(data)


def test_params_models_must_forbid_unknown_fields() -> None:
    class Loose(BaseModel):
        size: int = 1

    with pytest.raises(TypeError, match="extra='forbid'"):
        Component(
            name="loose",
            version="1.0.0",
            kind=ComponentKind.PROCESSING,
            image="loose",
            description="",
            params=Loose,
            run=lambda params, ctx: None,
            entry_module="loose",
        )


def test_port_names_must_be_folder_safe() -> None:
    class Strict(BaseModel):
        model_config = ConfigDict(extra="forbid")

    with pytest.raises(ValidationError, match="port name 'Bad Name'"):
        Component(
            name="ports",
            version="1.0.0",
            kind=ComponentKind.PROCESSING,
            image="ports",
            description="",
            params=Strict,
            run=lambda params, ctx: None,
            entry_module="ports",
            outputs={"Bad Name": OutputSpec(type=JSON_REPORT)},
        )


def test_artifact_check_names_the_missing_files(tmp_path: Path) -> None:
    kind = ArtifactType(name="Pair", description="a.json and b/*.jpg", required_files=("a.json", "b/*.jpg"))
    (tmp_path / "a.json").write_text("{}")
    with pytest.raises(ArtifactError, match=r"no file matches b/\*\.jpg"):
        kind.check(tmp_path)
    (tmp_path / "b").mkdir()
    (tmp_path / "b/1.jpg").write_bytes(b"")
    kind.check(tmp_path)
    with pytest.raises(ArtifactError, match="not a folder"):
        kind.check(tmp_path / "a.json")


def test_archives_round_trip_and_are_deterministic(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "nested").mkdir(parents=True)
    (source / "nested/weights.bin").write_bytes(b"\x00\x01")
    pack_archive(source, tmp_path / "one.tar.gz")
    (source / "nested/weights.bin").touch()
    pack_archive(source, tmp_path / "two.tar.gz")
    assert (tmp_path / "one.tar.gz").read_bytes() == (tmp_path / "two.tar.gz").read_bytes()
    unpack_archive(tmp_path / "one.tar.gz", tmp_path / "out")
    assert (tmp_path / "out/nested/weights.bin").read_bytes() == b"\x00\x01"


def _archive_with(path: Path, member: tarfile.TarInfo) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        tar.addfile(member, io.BytesIO(b"hi") if member.isfile() else None)
    return path


def _escaping() -> tarfile.TarInfo:
    member = tarfile.TarInfo("../escaped.txt")
    member.size = 2
    return member


def _link() -> tarfile.TarInfo:
    member = tarfile.TarInfo("weights.bin")
    member.type, member.linkname = tarfile.SYMTYPE, "/etc/passwd"
    return member


@pytest.mark.parametrize("member", [_escaping, _link])
@pytest.mark.parametrize("data_filter", [True, False], ids=["python>=3.11.4", "older 3.11 without the data filter"])
def test_unpacking_refuses_paths_that_escape_and_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, member, data_filter: bool
) -> None:
    if not data_filter:
        monkeypatch.delattr(tarfile, "data_filter")
    archive = _archive_with(tmp_path / "evil.tar.gz", member())
    with pytest.raises(ArtifactError, match="link, device or path outside the archive's folder"):
        unpack_archive(archive, tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "out" / "weights.bin").exists()


def test_unpacking_without_the_data_filter_still_extracts_and_drops_special_bits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(tarfile, "data_filter")
    member = tarfile.TarInfo("nested/run.sh")
    member.size, member.mode = 2, 0o4777
    with tarfile.open(tmp_path / "a.tar.gz", "w:gz") as tar:
        tar.addfile(member, io.BytesIO(b"hi"))
    unpack_archive(tmp_path / "a.tar.gz", tmp_path / "out")
    assert (tmp_path / "out/nested/run.sh").read_bytes() == b"hi"
    assert (tmp_path / "out/nested/run.sh").stat().st_mode & 0o7777 == 0o755


def test_unpacking_refuses_archives_over_the_size_cap(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src/big.bin").write_bytes(b"\x00" * 4096)
    pack_archive(tmp_path / "src", tmp_path / "big.tar.gz")
    with pytest.raises(ArtifactError, match="unpacks to more than 1000 bytes"):
        unpack_archive(tmp_path / "big.tar.gz", tmp_path / "out", ArchiveLimits(max_bytes=1000))


def test_a_small_archive_that_expands_too_far_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src/a.txt").write_text("first")
    (tmp_path / "src/zeros.bin").write_bytes(b"\x00" * 1024**2)  # ~1 KB packed: a ratio of ~1000
    pack_archive(tmp_path / "src", tmp_path / "bomb.tar.gz")
    limits = ArchiveLimits(max_ratio=50, ratio_floor_bytes=0)
    with pytest.raises(ArtifactError, match="DEEPFAKE_ARCHIVE_MAX_RATIO 50"):
        unpack_archive(tmp_path / "bomb.tar.gz", tmp_path / "out", limits)
    assert list((tmp_path / "out").iterdir()) == [], "what was extracted before the refusal is removed"
    unpack_archive(tmp_path / "bomb.tar.gz", tmp_path / "ok", ArchiveLimits(max_ratio=50))  # under the floor


@pytest.mark.timeout(30)
def test_an_archive_of_too_many_members_is_refused_while_it_streams(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tarfile.open(tmp_path / "many.tar.gz", "w:gz") as tar:
        for number in range(60):
            member = tarfile.TarInfo(f"f{number}")
            member.size = 1
            tar.addfile(member, io.BytesIO(b"x"))
    monkeypatch.setenv("DEEPFAKE_ARCHIVE_MAX_MEMBERS", "50")
    with pytest.raises(ArtifactError, match="more than 50 members"):
        unpack_archive(tmp_path / "many.tar.gz", tmp_path / "out")
    assert not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("content", [b"", b"garbage" * 100, "truncated"], ids=["empty", "garbage", "truncated"])
def test_an_unreadable_archive_is_an_artifact_error_naming_it(tmp_path: Path, content: bytes | str) -> None:
    if content == "truncated":
        (tmp_path / "src").mkdir()
        (tmp_path / "src/weights.bin").write_bytes(random.Random(0).randbytes(100_000))  # incompressible
        pack_archive(tmp_path / "src", tmp_path / "full.tar.gz")
        content = (tmp_path / "full.tar.gz").read_bytes()[:2000]
    (tmp_path / "model.tar.gz").write_bytes(content)
    with pytest.raises(ArtifactError, match=r"model.tar.gz: not a readable tar.gz archive"):
        unpack_archive(tmp_path / "model.tar.gz", tmp_path / "out")


@pytest.mark.parametrize(
    ("regex", "problem"), [("no group", "exactly one group"), ("(a)(b)", "exactly one group"), ("(unclosed", "compile")]
)
def test_a_metric_regex_must_compile_with_one_group(regex: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        MetricSpec(name="loss", regex=regex)


def test_metrics_travel_in_the_spec_json_and_a_spec_without_them_exports_as_before() -> None:
    spec = fit_mean.COMPONENT.spec
    assert [metric.name for metric in ComponentSpec.model_validate_json(spec.to_json()).metrics] == ["loss"]
    plain = spec.model_copy(update={"metrics": ()})
    assert "metrics" not in json.loads(plain.to_json())
