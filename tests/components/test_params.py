import json
from enum import StrEnum
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field

from deepfake.components.params import ParamsError, decode_params, encode_params, encode_values


class Colour(StrEnum):
    RED = "red"
    GREEN = "green"


class Everything(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int = Field(3, ge=0)
    rate: float = 0.5
    enabled: bool = False
    name: str = "x"
    colour: Colour = Colour.RED
    mode: Literal["fast", "slow"] = "fast"
    folder: Path = Path("data")
    sizes: list[int] = Field(default_factory=list)
    labels: dict[str, float] = Field(default_factory=dict)
    note: str | None = None
    limit: int | None = None


def test_strings_are_coerced_the_way_sagemaker_sends_them() -> None:
    params = decode_params(
        Everything,
        {
            "count": "7",
            "rate": "1e-3",
            "enabled": "true",
            "name": "null",
            "colour": "green",
            "mode": "slow",
            "folder": "/tmp/x",
            "sizes": "[1, 2]",
            "labels": '{"a": 0.5}',
            "note": "hello",
            "limit": "null",
        },
    )
    assert params == Everything(
        count=7,
        rate=0.001,
        enabled=True,
        name="null",
        colour=Colour.GREEN,
        mode="slow",
        folder=Path("/tmp/x"),
        sizes=[1, 2],
        labels={"a": 0.5},
        note="hello",
        limit=None,
    )


def test_omitted_params_take_their_defaults() -> None:
    assert decode_params(Everything, {}) == Everything()


def test_unknown_param_is_named_with_the_known_ones() -> None:
    with pytest.raises(ParamsError, match=r"unknown parameter 'cuont'.*count, rate"):
        decode_params(Everything, {"cuont": "3"})


def test_invalid_value_names_the_field_and_the_value() -> None:
    with pytest.raises(
        ParamsError, match=r"parameter 'count': Input should be greater than or equal to 0 " r"\(got '-1'\)"
    ):
        decode_params(Everything, {"count": "-1"})


def test_non_json_text_for_a_structured_param_is_an_error() -> None:
    with pytest.raises(ParamsError, match=r"parameter 'sizes': expected a JSON value, got '1,2'"):
        decode_params(Everything, {"sizes": "1,2"})


def test_scalars_travel_as_plain_text_and_structures_as_json() -> None:
    encoded = encode_params(Everything(count=2, enabled=True, name="a b", sizes=[4], note=None))
    assert encoded["count"] == "2"
    assert encoded["enabled"] == "true"
    assert encoded["name"] == "a b"
    assert encoded["colour"] == "red"
    assert json.loads(encoded["sizes"]) == [4]
    assert encoded["note"] == "null"
    assert encode_params(Everything(note="text", limit=4))["note"] == "text"


def test_runner_side_encoding_from_the_schema_matches_the_model_side() -> None:
    params = Everything(count=5, colour=Colour.GREEN, labels={"k": 1.0}, note="n")
    assert encode_values(Everything.model_json_schema(), params.model_dump(mode="json")) == encode_params(params)


finite = st.floats(allow_nan=False, allow_infinity=False)
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)


@given(
    st.builds(
        Everything,
        count=st.integers(min_value=0, max_value=10**12),
        rate=finite,
        enabled=st.booleans(),
        name=text,
        colour=st.sampled_from(Colour),
        mode=st.sampled_from(["fast", "slow"]),
        folder=st.builds(Path, st.from_regex(r"[a-z][a-z0-9/]{0,10}", fullmatch=True)),
        sizes=st.lists(st.integers()),
        labels=st.dictionaries(text, finite),
        note=st.none() | text.filter(lambda value: value != "null"),  # "null" means None (module docstring)
        limit=st.none() | st.integers(),
    )
)
def test_any_params_survive_the_string_round_trip(params: Everything) -> None:
    encoded = encode_params(params)
    assert all(isinstance(value, str) for value in encoded.values())
    assert decode_params(Everything, json.loads(json.dumps(encoded))) == params
