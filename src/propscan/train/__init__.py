"""Training (needs ``pip install 'propscan[train]'``): data prep, fine-tuning, ONNX export."""
