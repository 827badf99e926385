"""Probing untrusted videos in a child process: a file that aborts the decoder is a rejection, not a dead caller."""

from pathlib import Path

import pytest

from deepfake.components.faces.probing import ProbeLimits, Prober
from deepfake.components.faces.sampling import VideoReadError
from tests.support.media import decoder_bomb_mkv, face_clip


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("videos")
    return {
        "ok": face_clip(root / "ok.mp4", frames=6, width=96, height=64, face_height=30),
        "bomb": decoder_bomb_mkv(root / "bomb.mkv"),
    }


def test_a_video_that_aborts_the_decoder_is_refused_and_the_next_probe_works(videos: dict[str, Path]) -> None:
    with Prober() as prober:
        first = prober.probe(videos["ok"])
        assert (first.frames, first.width, first.height) == (6, 96, 64)
        with pytest.raises(VideoReadError, match=r"the video decoder crashed on this file \(signal SIGABRT"):
            prober.probe(videos["bomb"])
        assert prober.probe(videos["ok"]) == first, "a fresh child takes the next probe"


def test_the_decoders_own_errors_come_back_as_they_are(tmp_path: Path) -> None:
    (tmp_path / "junk.mp4").write_bytes(b"\x00garbage" * 100)
    with Prober() as prober:
        with pytest.raises(VideoReadError, match="unreadable video"):
            prober.probe(tmp_path / "junk.mp4")
        with pytest.raises(VideoReadError, match=r"missing file gone\.mp4"):
            prober.probe(tmp_path / "gone.mp4")


def test_a_probe_that_takes_too_long_is_refused(videos: dict[str, Path]) -> None:
    with Prober(ProbeLimits(timeout_s=0.001)) as prober, pytest.raises(VideoReadError, match="took longer than"):
        prober.probe(videos["ok"])  # starting the child alone takes longer
