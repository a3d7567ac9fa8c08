"""The Hugging Face Hub layout, model cards, push/pull, and where weights come from."""
