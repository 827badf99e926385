"""Every step kind the SageMaker compiler translates, on cheap components (no torch), runnable locally in seconds.

generate → summarize (the report) and fit (training: parameter, constant, list and null params; retries; no cache)
→ gate: any_of(all_of(mean in range), mean == 42) → register the model and use it, or fail quoting the mean.
"""

from deepfake.pipelines.dag import Pipeline, RetryPolicy, all_of, any_of, eq, ge, le
from examples.quickstart import generate_numbers, summarize_numbers
from tests.toy import fit_mean, use_model


def build_pipeline() -> Pipeline:
    pipeline = Pipeline("toy-gated-training", description="A toy pipeline with a training step and a gate.")
    count = pipeline.parameter("Count", int, 200, "Numbers to draw.")
    epochs = pipeline.parameter("Epochs", int, 2, "Training epochs.")
    rate = pipeline.parameter("LearningRate", float, 0.25, "Training learning rate.")
    note = pipeline.parameter("Note", str, "toy run", "Free text kept in the model.")
    min_mean = pipeline.parameter("MinMean", float, 0.2, "The gate's lower bound.")
    max_mean = pipeline.parameter("MaxMean", float, 0.9, "The gate's upper bound.")
    approval = pipeline.parameter("ApprovalStatus", str, "PendingManualApproval", "Status of a registered model.")

    generate = pipeline.step("generate", generate_numbers.COMPONENT, params={"count": count, "seed": 3})
    numbers = generate.output("numbers")
    summarize = pipeline.step(
        "summarize", summarize_numbers.COMPONENT, params={"scale": 1.0}, inputs={"numbers": numbers}
    )
    fit = pipeline.step(
        "fit",
        fit_mean.COMPONENT,
        params={"epochs": epochs, "learning_rate": rate, "tags": ["toy", "gated"], "note": note},
        inputs={"train": numbers},
        retry=RetryPolicy(max_attempts=3, interval_seconds=1.5, backoff_rate=3.0),
        cache=False,
    )
    use = pipeline.step("use", use_model.COMPONENT, inputs={"model": fit.output("model")})
    mean = summarize.report_value("summary", "summary.json", "mean")
    register = pipeline.register(
        "register",
        model=fit.output("model"),
        metrics=summarize.output("summary"),
        metrics_file="summary.json",
        model_group="toy-models",
        image="deepfake/serve",
        approval_status=approval,
    )
    out_of_range = pipeline.fail("out-of-range", ["mean", mean, "is outside", min_mean, "to", max_mean])
    pipeline.condition(
        "in-range",
        any_of(all_of(ge(mean, min_mean), le(mean, max_mean)), eq(mean, 42.0)),
        if_true=[register, use],
        if_false=[out_of_range],
    )
    return pipeline


pipeline = build_pipeline()
