from components.runtime import main
from components.score_videos.component import COMPONENT

raise SystemExit(main(COMPONENT))
