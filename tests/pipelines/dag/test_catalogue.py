import json
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from deepfake.components import load_component
from deepfake.components.artifacts import JSON_REPORT
from deepfake.pipelines.cli.main import main
from deepfake.pipelines.dag.catalogue import describe_params, render_catalogue
from deepfake.pipelines.dag.loading import discover_components
from tests.support import REPO_ROOT
from tests.toy import fit_mean

CATALOGUE = REPO_ROOT / "components/README.md"


def toy_specs():
    return [component.spec for component in discover_components("tests.toy")]


def test_the_catalogue_is_in_sync_with_every_component_spec() -> None:
    expected = render_catalogue(
        [component.spec for component in discover_components("deepfake.components")], "deepfake.components"
    )
    assert CATALOGUE.read_text() == expected, "components/README.md is stale: run `make catalogue`"


def test_any_spec_change_changes_the_catalogue() -> None:
    specs = toy_specs()
    before = render_catalogue(specs, "tests.toy")
    spec = specs[0]
    changes = [
        {"version": "1.0.1"},
        {"image": "tests/other-image"},
        {"params_schema": {**spec.params_schema, "properties": {"extra": {"type": "integer", "default": 1}}}},
        {"outputs": {"model": {"type": JSON_REPORT}}},
        {"inputs": {"train": {**spec.inputs["train"].model_dump(), "optional": True}}},
    ]
    for change in changes:
        changed = spec.model_validate({**spec.model_dump(), **change})
        assert render_catalogue([changed, *specs[1:]], "tests.toy") != before, change


def test_rows_are_sorted_by_name_whatever_the_discovery_order() -> None:
    specs = toy_specs()
    text = render_catalogue(list(reversed(specs)), "tests.toy")
    assert text == render_catalogue(specs, "tests.toy")
    rows = [line for line in text.splitlines() if line.startswith("| [")]
    assert [row.split("]")[0][3:] for row in rows] == ["fit-mean", "flaky", "use-model"]
    assert rows[0] == (
        "| [fit-mean](#fit-mean-100) | 1.0.0 | training | `tests/fit-mean` | `train: Numbers` | `model: ToyModel` |"
        " `epochs: int = 1 [1, 100]`<br>`learning_rate: float = 0.1 (0, 1]`<br>`tags: list[str] (required)`<br>"
        "`note: str \\| null = null` |"
    )


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    size: int = Field(224, ge=32, le=1024)
    ratio: float = Field(0.5, gt=0, lt=1)
    mode: Literal["fast", "exact"] = "fast"
    workers: int | None = Field(None, ge=1)
    name: str = Field(min_length=1)
    tags: list[str] = []


def test_params_show_types_defaults_bounds_and_choices() -> None:
    assert describe_params(Params.model_json_schema()) == [
        "size: int = 224 [32, 1024]",
        "ratio: float = 0.5 (0, 1)",
        'mode: "fast" \\| "exact" = "fast"',
        "workers: int \\| null = null ≥ 1",
        "name: str (required) length ≥ 1",
        "tags: list[str] = []",
    ]


def test_catalogue_check_fails_on_a_stale_file_and_writing_fixes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "README.md"
    args = ["components", "catalogue", "--package", "tests.toy", "--output", str(output)]
    assert main([*args, "--check"]) == 1
    assert main(args) == 0
    assert output.read_text() == render_catalogue(toy_specs(), "tests.toy")
    assert main([*args, "--check"]) == 0
    output.write_text(output.read_text().replace("1.0.0", "0.9.0"))
    assert main([*args, "--check"]) == 1
    assert f"{output} is out of date with the component specs: run `make catalogue`" in capsys.readouterr().err
    assert "0.9.0" in output.read_text()


def test_export_by_name_writes_only_those_specs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["components", "export", str(tmp_path), "--package", "tests.toy", "--name", "fit-mean"]) == 0
    assert [path.name for path in tmp_path.iterdir()] == ["fit-mean.json"]
    assert load_component(tmp_path / "fit-mean.json", version="1.0.0") == fit_mean.COMPONENT.spec
    assert json.loads((tmp_path / "fit-mean.json").read_text())["name"] == "fit-mean"
    assert main(["components", "export", str(tmp_path), "--package", "tests.toy", "--name", "fit-means"]) == 2
    assert "--name fit-means: no such component in package 'tests.toy' (found: fit-mean, flaky, use-model)" in (
        capsys.readouterr().err
    )
