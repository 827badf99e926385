from pathlib import Path

from deepfake.components.classifier.model import ModelConfig
from deepfake.components.score_videos.report import ROWS_SHOWN, Tally, summary_document, write_summary
from deepfake.components.score_videos.verdicts import UNSCORABLE, Verdict


def verdict(number: int, label: str, probability: float | None) -> Verdict:
    return Verdict(
        video_id=f"v{number:04d}",
        path=f"v{number:04d}.mp4",
        label=label,  # type: ignore[arg-type]
        probability_fake=probability,
        faces_scored=0 if probability is None else 3,
        aggregation="mean",
        threshold=0.5,
        reason="no face found" if probability is None else None,
    )


def test_the_tally_keeps_the_most_likely_fakes_and_the_first_unscorables_of_a_stream(tmp_path: Path) -> None:
    # Sorted by id as score-videos writes them; probabilities repeat, so ties are decided by id.
    stream = [verdict(number, "FAKE", 0.5 + (number % 7) / 20) for number in range(80)]
    stream += [verdict(100 + number, "REAL", 0.1) for number in range(5)]
    stream += [verdict(200 + number, UNSCORABLE, None) for number in range(ROWS_SHOWN + 3)]
    tally = Tally()
    assert list(tally.counted(stream)) == stream

    fakes = [row for row in stream if row.label == "FAKE"]
    expected = sorted(fakes, key=lambda row: (-(row.probability_fake or 0), row.video_id))[:ROWS_SHOWN]
    assert [video for video, _, _ in tally.top_fakes()] == [row.video_id for row in expected]
    assert [video for video, _ in tally.unscorable] == [f"v{200 + number:04d}" for number in range(ROWS_SHOWN)]

    config = ModelConfig(version="m-1", architecture="resnet18", image_size=32)
    document = summary_document(tally, [], config, {"aggregation": "mean", "threshold": 0.5, "min_faces": 1})
    assert document["counts"] == {"REAL": 5, "FAKE": 80, UNSCORABLE: ROWS_SHOWN + 3}
    assert document["videos"] == len(stream) and document["faces_scored"] == 85 * 3
    write_summary(tmp_path, document, tally, [])
    report = (tmp_path / "report.md").read_text()
    assert "… and 30 more in `verdicts.csv`." in report and "… and 3 more in `verdicts.csv`." in report
    assert report.index(f"| {expected[0].video_id} |") < report.index(f"| {expected[-1].video_id} |")
