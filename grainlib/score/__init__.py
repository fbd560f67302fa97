"""Scores of segmentations: MAP and ARI, classical baselines, realism, grain size, Tables 3-4."""
