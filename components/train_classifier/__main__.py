from deepfake.components.runtime import main
from deepfake.components.train_classifier.component import COMPONENT

raise SystemExit(main(COMPONENT))
