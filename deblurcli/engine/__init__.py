"""Inference engine: a pure tiling planner and a runner (precision, device, batching, OOM back-off)."""
