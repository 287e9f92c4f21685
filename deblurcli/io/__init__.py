"""Image I/O as a photographer needs it: orientation, ICC/EXIF/XMP/DPI kept, 16-bit kept, alpha kept,
atomic writes."""

from .images import Photo, read_photo, write_photo

__all__ = ["Photo", "read_photo", "write_photo"]
