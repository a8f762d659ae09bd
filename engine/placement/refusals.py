"""Why a plan cannot be made, in words that name every part that counts (the planner's refusals).

``gpu_problem``: the smallest placement does not fit the GPU budget; its parts add up to what it needs.
``ram_problem``: a placement fits the GPU, but the experts it keeps in host memory do not fit the RAM.
"""

from __future__ import annotations

from engine.placement.memory import format_size


def ram_problem(needed: int, available: int, num_off: int, num_layers: int, budget: int) -> str:
    """Why a placement that fits the GPU does not fit the machine: what stays in RAM is too much."""
    return (
        f"With {format_size(budget)} of GPU memory, the experts of {num_off} of {num_layers} layers stay in "
        f"RAM: {format_size(needed)}, and this computer has {format_size(available)} of RAM for them. "
        "Close other programs, add RAM, or use a GPU with more memory."
    )


def gpu_problem(budget: int, context: int, parts: dict[str, int], min_slots: int, max_context: int) -> str:
    """Why nothing fits: every part of the smallest placement, which add up to the least budget it needs."""
    weights = parts["attention"] + parts["norms_routers"] + parts["unembedding"]
    named = [f"the attention, router and unembedding weights ({format_size(weights)})"]
    if parts["embedding"]:
        named.append(f"the embedding ({format_size(parts['embedding'])})")
    named.append(f"the KV cache for {context} tokens ({format_size(parts['kv_cache'])})")
    named.append(f"the working memory ({format_size(parts['workspace'])})")
    if parts["experts"]:
        named.append(f"every expert ({format_size(parts['experts'])})")
    if parts["expert_slots"]:
        named.append(f"{min_slots} expert cache slots ({format_size(parts['expert_slots'])})")
    if parts["reserve"]:
        named.append(f"the CUDA allocator's reserve ({format_size(parts['reserve'])})")
    text = (
        f"A budget of {format_size(budget)} cannot hold {', '.join(named[:-1])} and {named[-1]}: "
        f"this context needs at least {format_size(sum(parts.values()))} of GPU memory."
    )
    if max_context > 0:
        return text + f" At this budget the context can be at most {max_context} tokens."
    return text + " No context fits at this budget: free GPU memory, or run on the CPU."
