"""Where the weights go: VRAM budgets, memory sizes, the plan, the device choice (no torch needed to plan)."""
