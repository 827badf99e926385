"""score-videos: a verdict for every video of a batch from a trained model, unscorable ones listed, not guessed."""
