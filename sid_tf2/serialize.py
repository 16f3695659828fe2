"""Keras files (`.keras` models, `.weights.h5` weights) made in memory, written by `sid_tf2.atomic`.

Why not `model.save_weights(path)`: Keras opens the HDF5 file on disk and, when a write fails
(a full disk), leaves the h5py handle open; it is flushed again while the interpreter exits,
which crashes the process (a segmentation fault after pages of HDF5 errors). Built in memory,
no HDF5 handle ever touches the disk; the bytes are then written like any other file, so the
size is known before writing (the free space is checked first) and a failure is a plain
`WriteError`.

Keras has no public way to save into a buffer; its own `.keras` writer takes a file object, and
the weights of a `.keras` archive are a complete `.weights.h5` file (`model.weights.h5`), the
same format `model.save_weights` writes and `model.load_weights` reads.
"""

import io
import zipfile

from keras.src.saving import saving_lib

from sid_tf2.atomic import write_bytes

_WEIGHTS_MEMBER = "model.weights.h5"


def model_bytes(model):
    """The `.keras` file of `model` (architecture, weights, optimizer if compiled), as bytes."""
    buffer = io.BytesIO()
    saving_lib.save_model(model, buffer)
    return buffer.getvalue()


def weights_bytes(model):
    """The `.weights.h5` file of `model`, as bytes (what `model.load_weights` reads)."""
    with zipfile.ZipFile(io.BytesIO(model_bytes(model))) as archive:
        return archive.read(_WEIGHTS_MEMBER)


def save_weights(model, path):
    """Write `model`'s weights to `path` (a `.weights.h5`) atomically; return the bytes written."""
    data = weights_bytes(model)
    write_bytes(path, data)
    return len(data)


def save_model(model, path):
    """Write `model` to `path` (a `.keras`) atomically; return the bytes written."""
    data = model_bytes(model)
    write_bytes(path, data)
    return len(data)
