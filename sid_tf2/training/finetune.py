"""Model surgery for fine-tuning: which layers to re-initialise, which to freeze.

    names = last_conv_layers(2)                       # ["g_conv10", "g_conv9_2"]
    reinitialize_layers(model, names, seed=0)         # fresh weights from the layers' initialisers
    frozen = resolve_frozen_layers("encoder", model)  # g_conv1_1 .. g_conv5_2

Re-initialisation uses each layer's own initialisers (Glorot-uniform kernels and zero biases for
the `g_conv*` layers, as slim's conv2d), re-seeded from (seed, the layer's position), so the
same seed gives the same fresh weights. Freezing is done by leaving the layers' variables out of
the step's and the optimizer's variable list (`trained_variables(..., frozen_layers=...)`), so
frozen weights keep their values bit for bit and carry no Adam slots.
"""

import keras
import numpy as np

# The convolution layers in network order (ORIGINAL.md), the transposed filters excluded.
CONV_LAYERS = (
    "g_conv1_1", "g_conv1_2", "g_conv2_1", "g_conv2_2", "g_conv3_1", "g_conv3_2",
    "g_conv4_1", "g_conv4_2", "g_conv5_1", "g_conv5_2",
    "g_conv6_1", "g_conv6_2", "g_conv7_1", "g_conv7_2", "g_conv8_1", "g_conv8_2",
    "g_conv9_1", "g_conv9_2", "g_conv10",
)
ENCODER_LAYERS = CONV_LAYERS[:10]  # g_conv1_* .. g_conv5_*
DECODER_LAYERS = CONV_LAYERS[10:]
GROUPS = {"encoder": ENCODER_LAYERS, "decoder": DECODER_LAYERS}
_REINIT_STREAM = 4  # keeps these seeds apart from the data's streams


def last_conv_layers(count):
    """The last `count` convolution layers, from g_conv10 backwards (g_conv10, g_conv9_2, ...)."""
    count = int(count)
    if not 0 <= count <= len(CONV_LAYERS):
        raise ValueError(f"reinit_last must be in [0, {len(CONV_LAYERS)}], got {count}.")
    return list(reversed(CONV_LAYERS))[:count]


def resolve_frozen_layers(spec, model=None):
    """Layer names from a --freeze value: None/""/"none", "encoder", "decoder", or a comma list
    of layer names (groups may appear in the list). Checked against `model` when given."""
    if spec is None:
        return ()
    if isinstance(spec, (list, tuple)):
        items = [str(item) for item in spec]
    else:
        items = [item.strip() for item in str(spec).split(",")]
    names = []
    for item in items:
        if not item or item.lower() == "none":
            continue
        for name in GROUPS.get(item.lower(), (item,)):
            if name not in names:
                names.append(name)
    if model is not None:
        known = {layer.name for layer in model.layers}
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ValueError(
                f"--freeze: no layer named {', '.join(unknown)} (use 'encoder', 'decoder' or layer "
                f"names such as {CONV_LAYERS[0]}, ..., {CONV_LAYERS[-1]}, up6 .. up9).")
    return tuple(names)


def _seeded(initializer, seed):
    """A copy of a Keras initializer with another seed (unseeded ones such as Zeros as they are)."""
    config = initializer.get_config()
    if "seed" in config:
        config["seed"] = int(seed)
    return initializer.__class__.from_config(config)


def reinitialize_layers(model, names, seed=0):
    """Give the named layers fresh weights drawn from their own initialisers, seeded from
    (seed, the layer's position in `CONV_LAYERS` or its name). Returns the names done."""
    done = []
    for name in names:
        layer = model.get_layer(name)
        position = CONV_LAYERS.index(name) if name in CONV_LAYERS else sum(map(ord, name))
        base = int(np.random.SeedSequence([_REINIT_STREAM, int(seed), position]).generate_state(1)[0] % 2**31)
        if not isinstance(layer, keras.layers.Conv2D):
            raise ValueError(f"reinitialize_layers: {name} is not a convolution layer.")
        layer.kernel.assign(_seeded(layer.kernel_initializer, base)(layer.kernel.shape, layer.kernel.dtype))
        if layer.use_bias:
            layer.bias.assign(_seeded(layer.bias_initializer, base + 1)(layer.bias.shape, layer.bias.dtype))
        done.append(name)
    return done
