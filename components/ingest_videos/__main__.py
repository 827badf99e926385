from deepfake.components.ingest_videos.component import COMPONENT
from deepfake.components.runtime import main

raise SystemExit(main(COMPONENT))
