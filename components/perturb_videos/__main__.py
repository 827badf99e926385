from deepfake.components.perturb_videos.component import COMPONENT
from deepfake.components.runtime import main

raise SystemExit(main(COMPONENT))
