"""Sentence encoders behind one small interface, a backend per module:

    base.py           the Encoder interface; the model's weights, located and checked against their sha256
    torch.py          sentence-transformers on PyTorch, fp32
    int8.py           the same model as dynamic-int8 ONNX on onnxruntime (the default), cached per machine
    int8_export.py    building that int8 model: export, quantization, the check against fp32
    int8_runtime.py   tokenizers, sessions and pooling shared by int8.py and int8_export.py
    factory.py        `load_encoder` (a backend by name) and `check_encoder` (an index keeps its encoder)

Backends import only `base` (and their own helpers); the factory imports a backend when it is asked for,
so importing this package loads no model library and changes no environment variable.
"""

from index.encoders.base import DEFAULT_MODEL, Encoder, bundled_model_dir, resolve_model
from index.encoders.factory import BACKENDS, DEFAULT_BACKEND, check_encoder, load_encoder

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "DEFAULT_MODEL",
    "Encoder",
    "bundled_model_dir",
    "check_encoder",
    "load_encoder",
    "resolve_model",
]
