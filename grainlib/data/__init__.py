"""Real and simulated data: labels, public data sets, readers, the surrogate, patches."""
