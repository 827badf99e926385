from deepfake.components.extract_faces.component import COMPONENT
from deepfake.components.runtime import main

raise SystemExit(main(COMPONENT))
