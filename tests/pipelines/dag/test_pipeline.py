from pathlib import Path

import pytest

from deepfake.components import load_component
from deepfake.pipelines import Pipeline, PipelineDefinitionError, all_of, any_of, ge, le
from examples.quickstart import generate_numbers, publish_summary, summarize_numbers
from tests.toy import fit_mean, use_model


def base() -> Pipeline:
    pipeline = Pipeline("wiring")
    pipeline.step("generate", generate_numbers.COMPONENT)
    return pipeline


def test_unknown_input_names_step_and_known_inputs() -> None:
    pipeline = base()
    with pytest.raises(
        PipelineDefinitionError, match=r"step 'sum': unknown input 'nums'; " r"summarize-numbers takes numbers"
    ):
        pipeline.step("sum", summarize_numbers.COMPONENT, inputs={"nums": pipeline.steps["generate"].output("numbers")})


def test_unknown_output_names_step_and_known_outputs() -> None:
    with pytest.raises(
        PipelineDefinitionError, match=r"step 'generate': no output 'values'; " r"generate-numbers has numbers"
    ):
        base().steps["generate"].output("values")


def test_missing_required_input() -> None:
    with pytest.raises(PipelineDefinitionError, match=r"step 'sum': required input\(s\) numbers not wired"):
        base().step("sum", summarize_numbers.COMPONENT)


def test_artifact_type_mismatch_names_both_types() -> None:
    pipeline = base()
    with pytest.raises(
        PipelineDefinitionError, match=r"step 'use': input 'model' expects ToyModel, but 'generate.numbers' is Numbers"
    ):
        pipeline.step("use", use_model.COMPONENT, inputs={"model": pipeline.steps["generate"].output("numbers")})


def test_invalid_constant_param_names_step_and_field() -> None:
    with pytest.raises(PipelineDefinitionError, match=r"step 'gen': param 'count': 0 is less than the minimum of 1"):
        Pipeline("p").step("gen", generate_numbers.COMPONENT, params={"count": 0})


def test_wrongly_typed_constant_param() -> None:
    with pytest.raises(PipelineDefinitionError, match=r"step 'gen': param 'count': 'ten' is not of type 'integer'"):
        Pipeline("p").step("gen", generate_numbers.COMPONENT, params={"count": "ten"})


def test_unknown_param_lists_the_known_ones() -> None:
    with pytest.raises(
        PipelineDefinitionError, match=r"step 'gen': unknown param 'cuont'; " r"generate-numbers takes count, seed"
    ):
        Pipeline("p").step("gen", generate_numbers.COMPONENT, params={"cuont": 3})


def test_pipeline_parameter_default_is_checked_against_the_component_param() -> None:
    pipeline = Pipeline("p")
    count = pipeline.parameter("Count", int, -5)
    with pytest.raises(PipelineDefinitionError, match=r"step 'gen': param 'count': -5 is less than the minimum of 1"):
        pipeline.step("gen", generate_numbers.COMPONENT, params={"count": count})


def test_duplicate_step_names_are_refused() -> None:
    pipeline = base()
    with pytest.raises(PipelineDefinitionError, match="step 'generate' is defined twice"):
        pipeline.step("generate", generate_numbers.COMPONENT)


def test_unknown_pipeline_parameter() -> None:
    other = Pipeline("other")
    ref = other.parameter("Count", int, 3)
    with pytest.raises(PipelineDefinitionError, match=r"step 'gen': unknown pipeline parameter 'Count'; defined: none"):
        Pipeline("p").step("gen", generate_numbers.COMPONENT, params={"count": ref})


def test_parameter_definitions_are_checked() -> None:
    pipeline = Pipeline("p")
    with pytest.raises(PipelineDefinitionError, match="default 'x' is not of type Integer"):
        pipeline.parameter("Count", int, "x")
    with pytest.raises(PipelineDefinitionError, match="names must match"):
        pipeline.parameter("bad-name", int, 1)
    pipeline.parameter("Count", int, 1)
    with pytest.raises(PipelineDefinitionError, match="defined twice"):
        pipeline.parameter("Count", int, 2)


def test_an_input_from_a_parameter_must_be_a_string_uri() -> None:
    pipeline = Pipeline("p")
    seed = pipeline.parameter("Seed", int, 1)
    with pytest.raises(PipelineDefinitionError, match="needs a String parameter"):
        pipeline.step("sum", summarize_numbers.COMPONENT, inputs={"numbers": seed})


def test_a_branch_step_cannot_feed_its_own_condition() -> None:
    pipeline = base()
    summary = pipeline.step(
        "sum", summarize_numbers.COMPONENT, inputs={"numbers": pipeline.steps["generate"].output("numbers")}
    )
    mean = summary.report_value("summary", "summary.json", "mean")
    with pytest.raises(PipelineDefinitionError, match="step 'sum' feeds the condition"):
        pipeline.condition("gate", ge(mean, 0.5), if_true=[summary])


def test_a_step_can_be_in_one_branch_only() -> None:
    pipeline = base()
    summary = pipeline.step(
        "sum", summarize_numbers.COMPONENT, inputs={"numbers": pipeline.steps["generate"].output("numbers")}
    )
    publish = pipeline.step("publish", publish_summary.COMPONENT, inputs={"summary": summary.output("summary")})
    mean = summary.report_value("summary", "summary.json", "mean")
    with pytest.raises(PipelineDefinitionError, match="already in a branch"):
        pipeline.condition("gate", ge(mean, 0.5), if_true=[publish], if_false=[publish])
    pipeline.condition("gate", ge(mean, 0.5), if_true=[publish])
    with pytest.raises(PipelineDefinitionError, match="already in a branch of 'gate'"):
        pipeline.condition("gate-2", le(mean, 0.9), if_true=[publish])


def test_report_values_are_checked() -> None:
    step = base().steps["generate"]
    with pytest.raises(PipelineDefinitionError, match=r"JSON path 'a\.\.b' is invalid"):
        step.report_value("numbers", "numbers.json", "a..b")
    with pytest.raises(PipelineDefinitionError, match="must be a plain file name"):
        step.report_value("numbers", "../x.json", "a")


def test_topological_order_puts_a_condition_before_the_steps_it_guards() -> None:
    from examples.quickstart.pipeline import pipeline

    order = pipeline.topological_order()
    assert order.index("check-mean") < order.index("publish")
    assert order.index("summarize") < order.index("check-mean")
    assert pipeline.dependencies("publish") == {"summarize", "check-mean"}


def test_nested_conditions_build() -> None:
    pipeline = base()
    summary = pipeline.step(
        "sum", summarize_numbers.COMPONENT, inputs={"numbers": pipeline.steps["generate"].output("numbers")}
    )
    mean = summary.report_value("summary", "summary.json", "mean")
    spread = summary.report_value("summary", "summary.json", "stdev")
    step = pipeline.condition("gate", any_of(all_of(ge(mean, 0.4), le(mean, 0.6)), ge(spread, 10)))
    assert step.upstream == {"sum"}


def test_a_spec_loaded_from_json_is_wired_and_checked_like_python_components(tmp_path: Path) -> None:
    for component in (generate_numbers.COMPONENT, fit_mean.COMPONENT):
        (tmp_path / f"{component.name}.json").write_text(component.spec.to_json())
    generate = load_component(tmp_path / "generate-numbers.json", version="1.0.0")
    train = load_component(tmp_path / "fit-mean.json", version="1.0.0")
    pipeline = Pipeline("loaded")
    numbers = pipeline.step("generate", generate, params={"count": 10}).output("numbers")
    pipeline.step("train", train, params={"epochs": 2, "tags": ["x"]}, inputs={"train": numbers})
    with pytest.raises(PipelineDefinitionError, match=r"param 'epochs': 0 is less than the minimum of 1"):
        pipeline.step("train-2", train, params={"epochs": 0}, inputs={"train": numbers})
