from deepfake.components.runtime import main
from deepfake.components.split_dataset.component import COMPONENT

raise SystemExit(main(COMPONENT))
