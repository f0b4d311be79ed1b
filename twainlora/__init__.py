"""twainlora: public-domain author text and satire headlines to LoRA adapters, staged with DVC."""

__version__ = "0.1.0"
