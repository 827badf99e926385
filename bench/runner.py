"""Local-runner overhead on a chain of cheap steps, and the time of a fully cached re-run.

    .venv/bin/python -m bench.runner [--steps 8] [--seconds 0.5]

Prints wall time ÷ the sum of the step processes' own time (goal ≤ 1.10: what the runner adds — hashing, linking,
records), wall time ÷ the sum of the steps' compute inside run() (adds interpreter start and imports per step),
and the wall time of a re-run that reuses every step (goal ≤ 5 s).
"""

import argparse
import io
import json
import tempfile
import time
from pathlib import Path

from bench import busy
from deepfake.pipelines import Pipeline
from deepfake.pipelines.local.records import StepState
from deepfake.pipelines.local.runner import LocalRunner


def chain(steps: int, seconds: float) -> Pipeline:
    pipeline = Pipeline("bench-runner")
    previous = None
    for index in range(steps):
        inputs = {"previous": previous.output("result")} if previous else {}
        previous = pipeline.step(
            f"busy-{index}", busy.COMPONENT, params={"seconds": seconds, "index": index}, inputs=inputs
        )
    return pipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=0.5)
    args = parser.parse_args()
    pipeline = chain(args.steps, args.seconds)
    with tempfile.TemporaryDirectory() as runs:
        runner = LocalRunner(Path(runs), out=io.StringIO(), stream_logs=False)
        started = time.perf_counter()
        record = runner.run(pipeline)
        wall = time.perf_counter() - started
        assert record.state is StepState.SUCCEEDED, record.failure
        process = sum(step.attempts[-1].duration_s for step in record.steps.values())
        compute = sum(
            json.loads((step.outputs["result"].path / "result.json").read_text())["compute_s"]
            for step in record.steps.values()
        )
        started = time.perf_counter()
        cached = runner.run(pipeline)
        cached_wall = time.perf_counter() - started
        assert all(step.state is StepState.CACHED for step in cached.steps.values())
    print(f"chain of {args.steps} steps, {args.seconds:g} s of compute each")
    print(f"  run wall time                 {wall:8.3f} s")
    print(f"  sum of step process times     {process:8.3f} s")
    print(f"  sum of compute inside run()   {compute:8.3f} s")
    print(f"  wall / step process time      {wall / process:8.3f}   (goal <= 1.10)")
    startup = (process - compute) / args.steps
    print(f"  wall / compute inside run()   {wall / compute:8.3f}   (adds {startup:.3f} s start-up a step)")
    print(f"  fully cached re-run           {cached_wall:8.3f} s (goal <= 5 s)")


if __name__ == "__main__":
    main()
