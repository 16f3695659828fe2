"""Fast PNG encoding of large images: the Sub filter and run-length deflate, in parallel strips.

Why: sid-enhance writes a 12-megapixel PNG for every photo, and libpng (`tf.io.encode_png`) at
zlib level 1 spends 0.6 s on one (AMD EPYC Zen 4), trying its filters row by row. The
network's outputs are smooth, denoised images: the Sub filter (each byte minus the same byte
one pixel to the left) leaves small residuals that zlib's run-length strategy (Z_RLE) codes in
0.29 s, into files smaller than libpng's level 1 (a 2848x4256 output: 17.7 MB against 18.8
MB). The rows are compressed in strips on separate threads (zlib releases the GIL) and joined
into one zlib stream, as pigz does, so that the last photo of a folder, written when the
network has finished, takes half the time on two cores.
"""

import concurrent.futures
import functools
import struct
import zlib

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
COLOUR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type (grey, grey+alpha, RGB, RGBA)
SUB_FILTER = 1
STRIP_BYTES = 4 << 20  # the smallest strip worth a thread of its own
ZLIB_HEADER = b"\x78\x01"  # deflate, 32 KiB window, "fastest" level hint; a multiple of 31


def chunk(kind, data):
    """A PNG chunk: length, type, data, CRC of type and data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@functools.lru_cache(maxsize=4)
def iccp_chunk(profile, name=b"sRGB"):
    """The ``iCCP`` chunk of an ICC profile (bytes): its name, a NUL, compression method 0 and
    the zlib-compressed profile. Cached: every output of a run carries the same few hundred
    bytes, compressed once."""
    return chunk(b"iCCP", name + b"\0\0" + zlib.compress(profile, 9))


def sub_filtered(image):
    """The PNG scanlines of an [H, W, C] uint8/uint16 image, Sub-filtered: [H, 1 + W*C*bytes]
    uint8, each row its filter type then each byte minus the same byte of the pixel to its left
    (modulo 256; 16-bit samples are big-endian)."""
    height = image.shape[0]
    samples = image.astype(">u2", copy=False) if image.dtype == np.uint16 else image
    raw = np.ascontiguousarray(samples).view(np.uint8).reshape(height, -1)
    pixel = image.shape[2] * image.itemsize
    rows = np.empty((height, raw.shape[1] + 1), np.uint8)
    rows[:, 0] = SUB_FILTER
    rows[:, 1:1 + pixel] = raw[:, :pixel]
    np.subtract(raw[:, pixel:], raw[:, :-pixel], out=rows[:, 1 + pixel:])
    return rows


def _deflate(data, level, final):
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15, 9, zlib.Z_RLE)
    # A full flush ends a strip on a byte boundary with no reference to what follows, so the
    # next strip's blocks, compressed on their own, can simply be appended.
    return compressor.compress(data) + compressor.flush(zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH)


def zlib_stream(rows, level, threads=2, strip_bytes=STRIP_BYTES):
    """One zlib stream of `rows` ([H, N] uint8), deflated in strips of whole rows on up to
    `threads` threads."""
    height, row_bytes = rows.shape
    data = memoryview(np.ascontiguousarray(rows).reshape(-1))
    strips = int(max(1, min(threads, height, rows.nbytes // strip_bytes)))
    bounds = [round(i * height / strips) * row_bytes for i in range(strips + 1)]
    parts = [(data[start:end], level, index == strips - 1)
             for index, (start, end) in enumerate(zip(bounds, bounds[1:]))]
    if strips == 1:
        body = _deflate(*parts[0])
    else:
        with concurrent.futures.ThreadPoolExecutor(strips) as pool:
            body = b"".join(pool.map(lambda part: _deflate(*part), parts))
    return ZLIB_HEADER + body + struct.pack(">I", zlib.adler32(data))


def encode_png(image, *, level=1, exif=None, icc_profile=None, threads=2, strip_bytes=STRIP_BYTES):
    """PNG bytes of an [H, W, C] (C = 1-4) uint8 or uint16 image.

    level: zlib's level, 0 (stored) to 9; the run-length strategy gains little above 1.
    exif: an Exif structure (a TIFF without pixels) for an ``eXIf`` chunk right after IHDR,
    where readers look for it. icc_profile: an ICC profile (bytes) for an ``iCCP`` chunk, also
    before the image data as PNG requires. threads: strips compressed at once.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] not in COLOUR_TYPES or image.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"PNG takes an [H, W, 1-4] uint8 or uint16 image, got {image.dtype} "
                        f"of shape {image.shape}")
    height, width, channels = image.shape
    if not height or not width:
        raise ValueError(f"PNG takes a non-empty image, got shape {image.shape}")
    header = struct.pack(">IIBBBBB", width, height, 8 * image.itemsize, COLOUR_TYPES[channels], 0, 0, 0)
    pieces = [PNG_SIGNATURE, chunk(b"IHDR", header)]
    if icc_profile is not None:
        pieces.append(iccp_chunk(bytes(icc_profile)))
    if exif is not None:
        pieces.append(chunk(b"eXIf", exif))
    pieces += [chunk(b"IDAT", zlib_stream(sub_filtered(image), int(level), threads, strip_bytes)),
               chunk(b"IEND", b"")]
    return b"".join(pieces)
