from components.runtime import main
from components.train_classifier.component import COMPONENT

raise SystemExit(main(COMPONENT))
