import io
from pathlib import Path

import boto3
import pytest

from deepfake.pipelines import Pipeline
from deepfake.pipelines.local.records import StepState
from deepfake.pipelines.local.runner import LocalRunner
from deepfake.pipelines.local.s3_inputs import S3InputError, stage_prefix
from examples.quickstart import summarize_numbers


def upload(bucket: str, files: dict[str, bytes]) -> None:
    client = boto3.client("s3")
    client.create_bucket(Bucket=bucket)
    for key, body in files.items():
        client.put_object(Bucket=bucket, Key=key, Body=body)


def test_a_prefix_is_staged_once_and_refreshed_when_it_changes(aws: str, tmp_path: Path) -> None:
    upload("data", {"set/a.txt": b"a", "set/sub/b.txt": b"bb", "setother/c.txt": b"c", "elsewhere/d.txt": b"d"})
    folder, fingerprint = stage_prefix("s3://data/set", tmp_path, max_bytes=1000)
    assert sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*.txt")) == ["a.txt", "sub/b.txt"]
    assert stage_prefix("s3://data/set/", tmp_path, max_bytes=1000)[1] == fingerprint
    again, same = stage_prefix("s3://data/set", tmp_path, max_bytes=1000)
    assert (again, same) == (folder, fingerprint)
    boto3.client("s3").put_object(Bucket="data", Key="set/a.txt", Body=b"changed")
    changed, other = stage_prefix("s3://data/set", tmp_path, max_bytes=1000)
    assert other != fingerprint and (changed / "a.txt").read_bytes() == b"changed"


@pytest.mark.parametrize(
    ("uri", "limit", "problem"),
    [
        ("s3://data/none", 1000, "no objects under this prefix"),
        ("s3://missing-bucket/x", 1000, "cannot list the prefix"),
        ("s3://data/set", 1, "over the staging limit of 1"),
        ("https://data/set", 1000, "is not an s3://bucket/prefix URI"),
    ],
)
def test_bad_prefixes_are_explained(aws: str, tmp_path: Path, uri: str, limit: int, problem: str) -> None:
    upload("data", {"set/a.txt": b"abc"})
    with pytest.raises(S3InputError, match=problem):
        stage_prefix(uri, tmp_path, max_bytes=limit)


def test_a_key_that_would_escape_the_folder_is_refused(aws: str, tmp_path: Path) -> None:
    upload("data", {"set/../../escape.txt": b"x"})
    with pytest.raises(S3InputError, match="would land outside the staging folder"):
        stage_prefix("s3://data/set", tmp_path / "stage", max_bytes=1000)
    assert not (tmp_path / "escape.txt").exists()


def test_a_pipeline_reads_an_s3_input_and_caches_by_its_listing(aws: str, tmp_path: Path) -> None:
    upload("data", {"numbers/numbers.jsonl": b'{"value": 2.0}\n{"value": 4.0}\n'})
    pipeline = Pipeline("s3-input")
    data = pipeline.parameter("Data", str, "s3://data/numbers")
    pipeline.step("summarize", summarize_numbers.COMPONENT, inputs={"numbers": data})
    runner = LocalRunner(tmp_path / "runs", out=io.StringIO())
    first = runner.run(pipeline)
    assert first.state is StepState.SUCCEEDED, first.failure
    assert (first.steps["summarize"].outputs["summary"].path / "summary.json").read_text().count('"mean": 3.0') == 1
    assert runner.run(pipeline).steps["summarize"].state is StepState.CACHED
    failed = runner.run(pipeline, {"Data": "s3://data/nothing-here"})
    assert failed.failure == (
        "step 'summarize' failed: input 'numbers': s3://data/nothing-here: no objects under this prefix;"
        " check the bucket and prefix"
    )
