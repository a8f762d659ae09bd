"""Experts in host memory: the device slot pool, the offloaded MoE layer, building a placed model."""
