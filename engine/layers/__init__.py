"""The building blocks of the model: attention, rotary embedding, KV cache, MoE and its expert stores."""
