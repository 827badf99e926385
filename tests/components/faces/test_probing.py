"""Probing untrusted videos in a child process: a child that dies on a file is a rejection, not a dead caller."""

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from deepfake.components.faces.probing import ProbeLimits, Prober
from deepfake.components.faces.sampling import VideoReadError
from tests.support.media import face_clip, lying_duration_mkv


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("videos")
    return {
        "ok": face_clip(root / "ok.mp4", frames=6, width=96, height=64, face_height=30),
        "lying": lying_duration_mkv(root / "lying.mkv"),
    }


def kill_the_child_once_it_starts(prober: Prober, signal_number: int) -> None:
    """A native crash, for real: the child gets the signal a segfault or an abort would raise in it."""
    deadline = time.monotonic() + 30
    while prober._child is None and time.monotonic() < deadline:
        time.sleep(0.001)
    assert prober._child is not None, "the prober started no child"
    os.kill(prober._child.pid, signal_number)


@pytest.mark.parametrize("signal_number", [signal.SIGSEGV, signal.SIGABRT])
def test_a_child_that_crashes_during_a_probe_is_a_rejection_and_a_fresh_child_takes_the_next(
    videos: dict[str, Path], signal_number: int
) -> None:
    with Prober() as prober:
        killer = threading.Thread(target=kill_the_child_once_it_starts, args=(prober, signal_number))
        killer.start()  # while the child is still starting, so that it dies with this probe outstanding
        name = signal.Signals(signal_number).name
        with pytest.raises(VideoReadError, match=rf"the video decoder crashed on this file \(signal {name}"):
            prober.probe(videos["ok"])
        killer.join()
        probed = prober.probe(videos["ok"])
        assert (probed.frames, probed.width, probed.height) == (6, 96, 64)


def test_a_header_that_lies_about_the_duration_is_read_for_the_frames_the_file_holds(videos: dict[str, Path]) -> None:
    with Prober() as prober:
        probed = prober.probe(videos["lying"])
    assert (probed.frames, probed.fps, probed.width, probed.height) == (5, 10.0, 64, 48)


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
