"""Number formats of the weights: MXFP4 experts and 8-bit linear weights (pure tensor functions)."""
