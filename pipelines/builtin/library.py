"""The library's components as the built-in pipelines use them: their specs, from the JSON `make catalogue` exports.

Defining or compiling a built-in pipeline therefore imports no component code (no torch, MediaPipe or PyAV), so
the `sagemaker` extra alone compiles and upserts it. A test keeps specs/ equal to the components' own specs.
"""

from pathlib import Path

from deepfake.components.spec import ComponentSpec, load_component

SPECS_DIR = Path(__file__).resolve().parent / "specs"


def spec(name: str) -> ComponentSpec:
    return load_component(SPECS_DIR / f"{name}.json")
