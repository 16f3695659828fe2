"""Source photographs for the simulator: scikit-image's bundled photos or the user's own.

scikit-image ships a few photographs inside its package (skimage/data). They are read straight
from that folder as files, never through `skimage.data.<name>()` helpers, which may fetch files
that are not bundled: nothing here downloads anything.
"""

import pathlib

import numpy as np

# The RGB photographs bundled with scikit-image (greyscale, RGBA and synthetic images left out).
SKIMAGE_PHOTOS = (
    "astronaut.png",
    "chelsea.png",
    "coffee.png",
    "color.png",
    "hubble_deep_field.jpg",
    "ihc.png",
    "motorcycle_left.png",
    "motorcycle_right.png",
    "retina.jpg",
    "rocket.jpg",
)

PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp")


class PhotoError(ValueError):
    """A source photograph that cannot be used (the message names the file)."""


def skimage_data_dir():
    """The folder of scikit-image's bundled data files."""
    import skimage  # pylint: disable=import-outside-toplevel  (scikit-image: off --help)

    return pathlib.Path(skimage.__file__).resolve().parent / "data"


def default_photo_paths():
    """The bundled scikit-image photographs that are present, in `SKIMAGE_PHOTOS` order."""
    folder = skimage_data_dir()
    return [folder / name for name in SKIMAGE_PHOTOS if (folder / name).is_file()]


def list_photo_paths(source_dir):
    """Image files under `source_dir` (recursive, by extension, any case), sorted by path."""
    root = pathlib.Path(source_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"source_dir {str(root)!r} is not a directory")
    paths = [
        path
        for path in root.rglob("*")
        if path.suffix.lower() in PHOTO_EXTENSIONS and path.is_file()
        and not path.name.startswith(".")
    ]
    return sorted(paths, key=lambda path: path.relative_to(root).as_posix())


def read_photo(path):
    """Read a photograph as float32 [H, W, 3] sRGB in [0, 1].

    Decoded with Pillow (which scikit-image's readers use too), in full: a truncated file is
    an error, not a grey band. The EXIF orientation is applied, greyscale and palette images
    become RGB, an alpha channel is dropped, 16-bit greyscale keeps its precision, and a
    multi-frame file gives its first frame. Raises `PhotoError` naming the file when it cannot
    be used.
    """
    from PIL import Image, ImageOps  # pylint: disable=import-outside-toplevel  (PIL: only when reading photographs)

    try:
        with Image.open(path) as opened:
            opened.load()
            picture = ImageOps.exif_transpose(opened)
            if picture.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
                grey = np.asarray(picture, dtype=np.float32) / np.float32(65535.0)
                image = np.repeat(np.clip(grey, 0.0, 1.0)[..., None], 3, axis=-1)
            elif picture.mode == "F":
                grey = np.clip(np.nan_to_num(np.asarray(picture, dtype=np.float32)), 0.0, 1.0)
                image = np.repeat(grey[..., None], 3, axis=-1)
            else:
                rgb = np.asarray(picture.convert("RGB"))
                image = rgb.astype(np.float32) / np.float32(255.0)
    except Exception as error:  # Pillow raises many types for broken files
        raise PhotoError(f"{path}: cannot read image ({type(error).__name__}: {error})") from None
    if image.ndim != 3 or min(image.shape[:2]) < 2:
        raise PhotoError(f"{path}: image too small or malformed (shape {image.shape})")
    return np.ascontiguousarray(image)


def scene_from_photo(photo, size, rng, *, max_zoom=1.25, flip=True):
    """A random crop of a photograph, resized to `size` (H, W), optionally mirrored.

    The crop is the largest window of the target aspect ratio that fits, shrunk by a random
    zoom in [1, max_zoom] and placed at random, so that scenes reusing a photograph differ.
    Smaller photographs are upscaled (bilinear); larger ones are downscaled with anti-aliasing.

    Returns:
      (image float32 [H, W, 3], info dict with the crop box, zoom and flip).
    """
    import skimage.transform  # pylint: disable=import-outside-toplevel  (scikit-image: off --help)

    height, width = (int(s) for s in size)
    photo_h, photo_w = photo.shape[:2]
    cover = max(height / photo_h, width / photo_w)
    zoom = float(rng.uniform(1.0, max_zoom))
    scale = cover * zoom
    crop_h = int(min(photo_h, max(1, round(height / scale))))
    crop_w = int(min(photo_w, max(1, round(width / scale))))
    top = int(rng.integers(0, photo_h - crop_h + 1))
    left = int(rng.integers(0, photo_w - crop_w + 1))
    mirrored = bool(flip and rng.random() < 0.5)
    crop = photo[top:top + crop_h, left:left + crop_w]
    if mirrored:
        crop = crop[:, ::-1]
    if (crop_h, crop_w) != (height, width):
        crop = skimage.transform.resize(
            crop, (height, width, 3), order=1, mode="edge",
            anti_aliasing=crop_h > height or crop_w > width, preserve_range=True,
        )
    image = np.clip(np.asarray(crop, dtype=np.float32), 0.0, 1.0)
    info = {"crop": [top, left, crop_h, crop_w], "zoom": zoom, "mirrored": mirrored}
    return image, info
