from deepfake.components.evaluate_model.component import COMPONENT
from deepfake.components.runtime import main

raise SystemExit(main(COMPONENT))
