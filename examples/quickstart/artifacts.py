from deepfake.components.artifacts import ArtifactType

NUMBERS = ArtifactType(
    name="Numbers",
    description='numbers.jsonl, one {"value": float} object a line',
    required_files=("numbers.jsonl",),
)
