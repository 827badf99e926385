"""The built-in pipelines are defined from the components' exported specs: compiling them loads no component code."""

import subprocess
import sys

import pytest

from deepfake.pipelines.builtin.library import SPECS_DIR
from deepfake.pipelines.dag.loading import discover_components

HEAVY = ("torch", "torchvision", "mediapipe", "cv2", "sklearn", "matplotlib", "PIL", "av")


def test_the_specs_the_builtin_pipelines_read_are_the_components_own() -> None:
    library = {component.name: component.spec for component in discover_components("deepfake.components")}
    exported = sorted(SPECS_DIR.glob("*.json"))
    assert [path.stem for path in exported] == sorted(library)
    for path in exported:
        assert path.read_text() == library[path.stem].to_json(), f"{path.name} is stale: run `make catalogue`"


@pytest.mark.slow  # a whole run or compile in a subprocess
def test_defining_and_compiling_the_builtin_pipelines_imports_none_of_the_components_dependencies() -> None:
    probe = (
        "import sys\n"
        "from deepfake.pipelines.dag.loading import load_pipeline\n"
        "from deepfake.pipelines.sagemaker.compiler import compile_pipeline\n"
        "from tests.pipelines.sagemaker.definitions import placeholder_target\n"
        "target = placeholder_target()\n"
        "compile_pipeline(load_pipeline('deepfake'), target, {'InputData': 's3://data-bucket/videos'})\n"
        "compile_pipeline(load_pipeline('batch-scoring'), target,"
        " {'InputData': 's3://data-bucket/videos', 'ModelData': 's3://data-bucket/model'})\n"
        f"print(sorted(name for name in {HEAVY!r} if name in sys.modules))\n"
    )
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    assert completed.stdout.strip() == "[]", "the `sagemaker` extra alone must compile: " + completed.stdout
