from components.extract_faces.component import COMPONENT
from components.runtime import main

raise SystemExit(main(COMPONENT))
