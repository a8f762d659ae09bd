"""Reading model files: checkpoint folders and their layouts, safetensors headers, npy, synthetic checkpoints."""
