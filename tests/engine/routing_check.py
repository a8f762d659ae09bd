"""Comparing two implementations whose routers may break near-ties differently.

At a token where the k-th and (k+1)-th router logits are equal to bf16 precision, two correct bf16
implementations may pick different experts; the logits then differ at that token (and a little at
later ones, through attention) for no fault of either. So the comparison runs our model with the
other implementation's expert choices ("forced routing"), and checks separately that our router
agrees with its choices wherever they are not such near-ties.
"""

from __future__ import annotations

import torch

# Two bf16 pipelines that round at different places (transformers accumulates expert outputs in bf16,
# the reference in float32) reach a layer's router with hidden states a percent or so apart, which moves
# router logits by up to a few hundredths of the row's scale: a gap smaller than that is a near-tie.
ROUTER_TIE = 0.05  # of the row's largest |logit|
MAX_TIE_FLIPS = 0.1  # of the tokens of a layer


def near_ties(logits: torch.Tensor, k: int) -> torch.Tensor:
    """[T, E] router logits -> [T] bool: the k-th and (k+1)-th are tied to bf16-pipeline precision."""
    if k >= logits.shape[-1]:
        return torch.zeros(logits.shape[0], dtype=torch.bool)
    logits = logits.float()
    top = logits.topk(k + 1, dim=-1).values
    return (top[:, k - 1] - top[:, k]) <= ROUTER_TIE * logits.abs().amax(dim=-1)


class ForcedRouting:
    """Context manager: the model's MoE layers use ``choices[layer]`` ([T, k] expert ids, consumed in
    order across calls) and record their own router logits in ``ours[layer]``."""

    def __init__(self, model, choices: list[torch.Tensor]):
        self.model, self.choices = model, choices
        self.ours: list[list[torch.Tensor]] = [[] for _ in choices]

    def __enter__(self):
        for layer, block in enumerate(self.model.blocks):
            block.mlp.route = self._route(layer, block.mlp)
        return self

    def _route(self, layer: int, moe):
        consumed = [0]

        def route(x: torch.Tensor):
            logits = moe.router_logits(x)
            self.ours[layer].append(logits.float())
            ids = self.choices[layer][consumed[0] : consumed[0] + x.shape[0]].to(x.device)
            consumed[0] += x.shape[0]
            weights = torch.softmax(logits.gather(1, ids).float(), dim=-1).to(x.dtype)
            return ids, weights

        return route

    def __exit__(self, *exc):
        for block in self.model.blocks:
            del block.mlp.route  # back to the class's method

    def router_logits(self, layer: int) -> torch.Tensor:
        return torch.cat(self.ours[layer])


def assert_same_routing(ours: list[torch.Tensor], theirs: list[torch.Tensor], k: int) -> None:
    """Per layer and token, the same set of k experts, except at the other side's near-ties."""
    for layer, (mine, ref) in enumerate(zip(ours, theirs)):
        same = (
            mine.topk(k, dim=-1).indices.sort(-1).values == ref.topk(k, dim=-1).indices.sort(-1).values
        ).all(-1)
        bad = (~same & ~near_ties(ref, k)).nonzero().flatten().tolist()
        assert not bad, f"layer {layer}: different experts at tokens {bad} without a near-tie"
        assert (~same).float().mean() <= MAX_TIE_FLIPS, f"layer {layer}: {int((~same).sum())} near-tie flips"


def forced_logits(
    model, ids: torch.Tensor, their_router_logits: list[torch.Tensor], k: int, decode: bool = False
) -> torch.Tensor:
    """Our logits with their routing; also asserts our own routing agrees with theirs."""
    choices = [logits.topk(k, dim=-1).indices for logits in their_router_logits]
    with ForcedRouting(model, choices) as forced:
        cache = model.new_cache(len(ids))
        if decode:
            out = torch.cat([model.forward(ids[i : i + 1], cache) for i in range(len(ids))])
        else:
            out = model.forward(ids, cache)
    assert_same_routing([forced.router_logits(n) for n in range(len(choices))], their_router_logits, k)
    return out
