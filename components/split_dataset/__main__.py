from components.runtime import main
from components.split_dataset.component import COMPONENT

raise SystemExit(main(COMPONENT))
