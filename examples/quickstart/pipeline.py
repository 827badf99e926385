"""generate → summarize → gate on the mean → publish, or fail quoting the mean.

python -m deepfake.pipelines run examples/quickstart/pipeline.py:pipeline --param MinMean=0.6
"""

from deepfake.pipelines import Pipeline, ge
from examples.quickstart import generate_numbers, publish_summary, summarize_numbers

pipeline = Pipeline("quickstart", description=__doc__)
count = pipeline.parameter("Count", int, 1000, "How many numbers to draw.")
seed = pipeline.parameter("Seed", int, 0, "Random seed.")
scale = pipeline.parameter("Scale", float, 1.0, "Multiplier applied before summarising.")
min_mean = pipeline.parameter("MinMean", float, 0.4, "The gate: the mean must be at least this.")

generate = pipeline.step("generate", generate_numbers.COMPONENT, params={"count": count, "seed": seed})
summarize = pipeline.step(
    "summarize",
    summarize_numbers.COMPONENT,
    params={"scale": scale},
    inputs={"numbers": generate.output("numbers")},
)
mean = summarize.report_value("summary", "summary.json", "mean")
publish = pipeline.step("publish", publish_summary.COMPONENT, inputs={"summary": summarize.output("summary")})
too_low = pipeline.fail("mean-too-low", ["mean", mean, "is below MinMean", min_mean])
pipeline.condition("check-mean", ge(mean, min_mean), if_true=[publish], if_false=[too_low])
