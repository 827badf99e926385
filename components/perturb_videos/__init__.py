"""The perturb-videos stage: re-encoded, downscaled and blurred copies of a split's videos, for robustness sweeps."""
