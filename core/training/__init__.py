"""Training: meta-learning the prior on talking-head videos (meta.py) and few-shot fine-tuning (finetune.py)."""
