"""The base model and LoRA training."""
