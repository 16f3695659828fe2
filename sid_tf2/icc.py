"""The sRGB ICC profile embedded in every image sid-enhance writes (PNG iCCP, JPEG APP2, TIFF 34675).

Why embed it: an image without a profile is shown "as sRGB" by some programs and as the
monitor's native space by others (wide-gamut screens then oversaturate it); with the profile
every colour-managed reader shows the network's output as LibRaw rendered its training targets,
in sRGB primaries.

The profile is LittleCMS's built-in sRGB (through Pillow's ImageCms), 588 bytes, built once per
process. LittleCMS stamps the time of building into the header; that stamp is replaced by a
fixed one so that the same photo gives the same bytes on every run.
"""

import functools
import struct

from PIL import ImageCms

ICC_PROFILE_TAG = 34675  # TIFF's InterColorProfile (UNDEFINED bytes)
_DATE_OFFSET = 24  # ICC header: dateTimeNumber, six big-endian uint16 (year .. second)
FIXED_DATE = (2026, 1, 1, 0, 0, 0)


@functools.cache
def srgb_profile() -> bytes:
    """The sRGB ICC profile (version 4) as bytes, with a fixed creation date."""
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    date = struct.pack(">6H", *FIXED_DATE)
    return profile[:_DATE_OFFSET] + date + profile[_DATE_OFFSET + len(date):]
