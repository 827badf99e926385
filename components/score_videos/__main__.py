from deepfake.components.runtime import main
from deepfake.components.score_videos.component import COMPONENT

raise SystemExit(main(COMPONENT))
