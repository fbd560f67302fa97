"""Monte Carlo Potts grain growth: the driver, its numba kernels, growth laws and the MCS clock."""
