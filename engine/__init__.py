"""The gpt-oss inference engine: weights, model, tokenizer, harmony format, sessions, model manager.

Never imports Qt: the desktop app in ``app/`` depends on this package, not the other way round.
"""
