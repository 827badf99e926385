from components.evaluate_model.component import COMPONENT
from components.runtime import main

raise SystemExit(main(COMPONENT))
