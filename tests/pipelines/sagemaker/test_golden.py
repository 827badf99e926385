"""The compiled deepfake definition is committed; any change to it must be reviewed and the file regenerated.

Regenerate after review (the settings are fixed placeholders, see tests/pipelines/sagemaker/definitions.py):

    DEEPFAKE_UPDATE_GOLDEN=1 .venv/bin/pytest tests/pipelines/sagemaker/test_golden.py
"""

import difflib
import os
from pathlib import Path

import pytest

from deepfake.pipelines.dag.loading import load_pipeline
from deepfake.pipelines.sagemaker.compiler import compile_pipeline
from tests.pipelines.sagemaker.definitions import placeholder_target

GOLDEN = Path(__file__).parent / "golden" / "deepfake.definition.json"
REGENERATE = "DEEPFAKE_UPDATE_GOLDEN=1 .venv/bin/pytest tests/pipelines/sagemaker/test_golden.py"
PARAMETERS = {"InputData": "s3://deepfake-datasets/demo"}
SHOWN_DIFF_LINES = 80


def test_the_compiled_deepfake_definition_is_the_reviewed_one() -> None:
    text = compile_pipeline(load_pipeline("deepfake"), placeholder_target(), PARAMETERS).to_json()
    if os.environ.get("DEEPFAKE_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text)
    assert GOLDEN.is_file(), f"{GOLDEN} is missing: generate it with `{REGENERATE}`"
    golden = GOLDEN.read_text()
    if text != golden:
        diff = difflib.unified_diff(
            golden.splitlines(), text.splitlines(), "committed", "compiled now", lineterm="", n=2
        )
        shown = "\n".join(list(diff)[:SHOWN_DIFF_LINES])
        pytest.fail(
            f"the compiled deepfake definition differs from {GOLDEN.name}:\n{shown}\n"
            f"Review the change; if it is intended, regenerate the file with `{REGENERATE}` and commit it."
        )
