"""Defocus blur maps: estimation (edge-based, Zhuo & Sim 2011) and propagation to a dense map."""
