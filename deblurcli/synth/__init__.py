"""Synthetic degradations: blur kernels, spatially varying blur, sensor noise, training data."""
