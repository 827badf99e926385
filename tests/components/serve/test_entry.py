"""The serving entry refuses a model it cannot load before it binds a port: exit 2 and one line naming the file."""

from pathlib import Path

import pytest

from deepfake.components.serve.__main__ import main


@pytest.mark.parametrize("content", [b"", b"not an archive at all", b"\x1f\x8b\x08\x00truncated"])
def test_a_garbage_empty_or_truncated_model_archive_exits_2_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, content: bytes
) -> None:
    for name in ("DEEPFAKE_SERVE_MODEL_DIR", "DEEPFAKE_SERVE_WORKERS", "RES_OPTIONS"):
        monkeypatch.setenv(name, "")  # the entry sets these (flags for workers, DNS off): undone after the test
        monkeypatch.delenv(name)
    (tmp_path / "model.tar.gz").write_bytes(content)
    assert main(["--model-dir", str(tmp_path / "model.tar.gz"), "--port", "1"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"error: cannot unpack the model archive {tmp_path / 'model.tar.gz'}: ")
    assert "not a readable tar.gz archive" in error and "\n" not in error
