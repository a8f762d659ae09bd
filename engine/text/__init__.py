"""Text in and out: the o200k_harmony tokenizer and the harmony chat format."""
