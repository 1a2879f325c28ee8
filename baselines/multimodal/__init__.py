"""What `rt2` and `palme` share: PaLM-E's "multimodal sentence", image features projected into a
pretrained language model's token space and placed before the instruction's tokens, read by the
language model (fine-tuned through low-rank adapters). The two differ only in how actions leave it."""
