"""Serving scores a video exactly as the pipeline would: extract-faces crops + evaluate-model scoring."""

from pathlib import Path

import pytest
import torch

from deepfake.components.classifier.model import load_model
from deepfake.components.classifier.scoring import eval_transform, load_face, predict_probabilities
from deepfake.components.extract_faces.component import Params as ExtractionParams
from deepfake.components.extract_faces.extraction import ExtractionSettings, extract_video
from deepfake.components.faces.detection import FaceDetector
from deepfake.components.faces.probing import Prober
from deepfake.components.manifests import VideoRecord
from deepfake.components.serve.predictor import ModelDirError, Predictor
from deepfake.components.serve.settings import ServeSettings


def test_frame_scores_equal_extraction_then_evaluation(
    trained_model: Path, clips: dict[str, Path], tmp_path: Path
) -> None:
    network, config = load_model(trained_model)
    serving = ServeSettings(model_dir=trained_model, frames_per_video=10)
    predictor = Predictor(serving)
    verdict = predictor.predict_video(clips["fake"])
    predictor.close()

    defaults = ExtractionParams()
    settings = ExtractionSettings(
        **defaults.model_dump(include=set(ExtractionSettings.model_fields))
        | {"frames_per_video": 10, "face_size": config.image_size}
    )
    record = VideoRecord(
        id="fake",
        path="fake.mp4",
        label=1,
        group="fake",
        dataset="test",
        frames=40,
        fps=25,
        width=320,
        height=240,
        duration_s=1.6,
    )
    with FaceDetector() as detector, Prober() as prober:
        result = extract_video(record, clips["fake"], tmp_path, settings, detector, prober)
    transform = eval_transform(config)
    batch = torch.stack([transform(load_face(tmp_path / face.image)) for face in result.faces])
    expected = predict_probabilities(network, batch, config)

    assert [frame.frame_index for frame in verdict.frame_scores] == [face.frame_index for face in result.faces]
    assert [frame.box for frame in verdict.frame_scores] == [face.box for face in result.faces]
    assert [frame.probability_fake for frame in verdict.frame_scores] == pytest.approx(expected.tolist(), abs=1e-5)


def test_a_corrupt_weights_file_is_a_model_error_naming_the_folder(trained_model: Path, tmp_path: Path) -> None:
    (tmp_path / "model.json").write_text((trained_model / "model.json").read_text())
    (tmp_path / "model.pt").write_bytes(b"not a state dict")
    with pytest.raises(ModelDirError, match=f"cannot load the model in {tmp_path}"):
        Predictor(ServeSettings(model_dir=tmp_path))


def test_a_frame_over_the_limit_is_refused_before_this_process_decodes_it(
    trained_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe (a child process) reports the frame size; the worker never opens a video it would refuse."""
    from deepfake.components.serve import predictor as serving
    from deepfake.components.serve.predictor import InputError
    from tests.support.media import face_clip

    def forbidden(path: Path, indices: list[int]) -> None:
        raise AssertionError(f"the serving process opened {path} before checking its frame size")

    monkeypatch.setattr(serving, "read_sampled", forbidden)
    big = face_clip(tmp_path / "big.mp4", frames=3, width=480, height=360)
    predictor = Predictor(ServeSettings(model_dir=trained_model, max_frame_pixels=100_000))
    try:
        with pytest.raises(InputError, match="480x360, over the limit of 100000 pixels") as caught:
            predictor.predict_video(big)
    finally:
        predictor.close()
    assert caught.value.status == 422


def test_a_video_of_two_people_one_fake_is_fake_and_lists_both_the_fake_first(
    trained_model: Path, tmp_path: Path
) -> None:
    from tests.support.media import two_people_clip

    predictor = Predictor(ServeSettings(model_dir=trained_model, frames_per_video=6))
    try:
        verdict = predictor.predict_video(two_people_clip(tmp_path / "two.mp4"))
    finally:
        predictor.close()
    assert verdict.label == "FAKE" and len(verdict.tracks) == 2
    fake, real = verdict.tracks
    assert fake.label == "FAKE" and fake.box is not None and fake.box[0] >= 320
    assert real.label == "REAL" and real.box is not None and real.box[0] < 320
    assert verdict.probability_fake == fake.probability_fake and fake.faces == real.faces == 6
    assert {frame.track for frame in verdict.frame_scores} == {fake.track, real.track}
