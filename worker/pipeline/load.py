"""Load stage: a file's bytes → page images, one at a time.

The type is sniffed from the bytes, never from the name. PDF pages that are one scanned
image are taken at the image's native resolution (no resampling); other PDF pages are
rendered. Pages are decoded on demand so a long document never sits in memory whole.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from docextract.settings import LimitSettings
from models.schemas import SourceInfo
from worker.pipeline.errors import InputError
from worker.pipeline.pdfrules import DrawnRule, drawn_rules
from worker.pipeline.textlayer import TextLayer, extract_layer

Kind = Literal["pdf", "tiff", "png", "jpeg"]

_A4_WIDTH_INCH = 8.27
_RENDER_DPI = 200  # for PDF pages that are not a single scanned image


@dataclass(frozen=True)
class PageImage:
    """One page as the service shows it: `bbox` values of results are in these pixels."""

    number: int  # 1-based
    image: np.ndarray = field(repr=False)  # H×W×3 uint8, BGR (OpenCV order)
    dpi: float
    is_color: bool
    text_layer: TextLayer | None = field(default=None, repr=False)  # a PDF page's text, page pixels
    # The rules a PDF page with visible text draws as vector paths (None: drawn otherwise, or not a PDF)
    drawn_rules: tuple[DrawnRule, ...] | None = field(default=None, repr=False)

    @property
    def size(self) -> tuple[int, int]:
        h, w = self.image.shape[:2]
        return w, h


def sniff_kind(head: bytes) -> Kind | None:
    if head.startswith(b"%PDF") or b"%PDF-" in head[:1024]:
        return "pdf"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    return None


class Document:
    """An opened input: its source info and its pages, decoded on demand."""

    def __init__(self, data: bytes, filename: str, limits: LimitSettings) -> None:
        self.limits = limits
        if not data:
            raise InputError("empty file")
        if len(data) > limits.max_bytes:
            raise InputError(f"file too large ({len(data)} bytes > {limits.max_bytes})")
        kind = sniff_kind(data[:2048])
        if kind is None:
            raise InputError("not a PDF, TIFF, PNG or JPEG file")
        self.kind: Kind = kind
        self._data = data
        self._pdf = None
        self._image: Image.Image | None = None
        try:
            self.page_count = self._open()
            if self.page_count == 0:
                raise InputError("document has no pages")
            if self.page_count > limits.max_pages:
                raise InputError(f"too many pages ({self.page_count} > {limits.max_pages})")
        except BaseException:
            self.close()  # the decoder's handles, not left to the garbage collector
            raise
        self.source = SourceInfo(filename=filename, sha256=hashlib.sha256(data).hexdigest(), pages=self.page_count)

    # -- opening -------------------------------------------------------------------------
    def _open(self) -> int:
        if self.kind == "pdf":
            return self._open_pdf()
        return self._open_image()

    def _open_pdf(self) -> int:
        import pypdfium2 as pdfium

        try:
            self._pdf = pdfium.PdfDocument(self._data)
        except pdfium.PdfiumError as exc:
            message = str(exc).lower()
            if "password" in message:
                raise InputError("encrypted PDF (password required)") from exc
            raise InputError(f"corrupt PDF ({exc})") from exc
        return len(self._pdf)

    def _open_image(self) -> int:
        Image.MAX_IMAGE_PIXELS = self.limits.max_page_pixels
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                warnings.simplefilter("ignore", UserWarning)  # "Corrupt EXIF data" and the like
                image = Image.open(io.BytesIO(self._data))
                self._check_pixels(*image.size)
                frames = getattr(image, "n_frames", 1)  # walks a TIFF's frame list: may hit damage
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            declared = re.search(r"Image size \((\d+) pixels\)", str(exc))  # Pillow's message
            size = f"{declared.group(1)} px" if declared else "size"
            raise InputError(
                f"image too large ({size} > {self.limits.max_page_pixels} pixels), refused before decoding"
            ) from exc
        except InputError:
            raise
        except UnidentifiedImageError as exc:
            raise InputError(f"corrupt {self.kind.upper()} image (unrecognised data)") from exc
        except Exception as exc:  # Pillow's decoders raise OSError, TypeError, struct.error, EOFError...
            raise InputError(f"corrupt {self.kind.upper()} image ({type(exc).__name__}: {exc})") from exc
        self._image = image
        return frames

    def _check_pixels(self, width: int, height: int) -> None:
        if width * height > self.limits.max_page_pixels:
            raise InputError(f"page too large ({width}×{height} px > {self.limits.max_page_pixels} pixels)")
        if min(width, height) < self.limits.min_page_side:
            raise InputError(f"image too small to read ({width}×{height} px)")

    # -- pages ---------------------------------------------------------------------------
    def page(self, number: int) -> PageImage:
        """Decode page `number` (1-based)."""
        if not 1 <= number <= self.page_count:
            raise IndexError(number)
        try:
            if self.kind == "pdf":
                return self._pdf_page(number)
            pil, dpi = self._image_page(number - 1)
            return _to_page_image(number, pil, dpi)
        except InputError:
            raise
        except Exception as exc:  # a decoder failing mid-file is bad input, not a crash
            raise InputError(f"page {number} cannot be decoded ({type(exc).__name__}: {exc})") from exc

    def pages(self) -> Iterator[PageImage]:
        for number in range(1, self.page_count + 1):
            yield self.page(number)

    def _pdf_page(self, number: int) -> PageImage:
        import pypdfium2.raw as pdfium_c

        page = self._pdf[number - 1]
        width_pt, height_pt = page.get_size()
        scanned = _single_scanned_image(page, pdfium_c)
        if scanned is not None:
            px_w, px_h = scanned.get_px_size()
            self._check_pixels(px_w, px_h)
            pil = scanned.get_bitmap(render=False).to_pil()
            return _to_page_image(number, pil, px_w / (width_pt / 72.0))
        scale = _RENDER_DPI / 72.0
        self._check_pixels(int(width_pt * scale), int(height_pt * scale))
        bgr = _render(page, scale)
        # A turned page's text boxes are in its unturned space: such a page is read as an image.
        layer = extract_layer(page.get_textpage(), scale, height_pt, pdfium_c) if page.get_rotation() == 0 else None
        rules = drawn_rules(page, scale, height_pt, pdfium_c) if layer is not None and not layer.invisible else None
        return PageImage(number, bgr, float(_RENDER_DPI), _has_colour(bgr), layer, rules)

    def _image_page(self, index: int) -> tuple[Image.Image, float]:
        assert self._image is not None
        self._image.seek(index)
        self._check_pixels(*self._image.size)
        frame = self._image.copy()
        if self.kind == "jpeg":
            frame = ImageOps.exif_transpose(frame)  # phone photos carry their rotation in EXIF
        dpi = self._image.info.get("dpi", (0, 0))[0] or frame.size[0] / _A4_WIDTH_INCH
        return frame, float(dpi)

    def close(self) -> None:
        if self._pdf is not None:
            self._pdf.close()
            self._pdf = None
        if self._image is not None:
            self._image.close()
            self._image = None

    def __enter__(self) -> Document:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _render(page, scale: float) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The page drawn into an array of our own, in BGR (pdfium's order and OpenCV's): into
    a bitmap of pdfium's making, zero-filled first and copied out after, a page took twice
    as long."""
    import pypdfium2.raw as pdfium_c
    from pypdfium2 import PdfBitmap

    arrays: list[np.ndarray] = []

    def into_array(width: int, height: int, format: int, rev_byteorder: bool = False) -> PdfBitmap:
        if format != pdfium_c.FPDFBitmap_BGR or rev_byteorder:  # not asked for: pdfium's own, copied below
            return PdfBitmap.new_native(width, height, format, rev_byteorder)
        array = np.empty((height, width, 3), np.uint8)
        arrays.append(array)
        buffer = (ctypes.c_ubyte * array.size).from_buffer(array)
        return PdfBitmap.new_native(width, height, format, rev_byteorder, buffer=buffer)

    bitmap = page.render(scale=scale, grayscale=False, bitmap_maker=into_array)
    if not arrays:
        return np.ascontiguousarray(bitmap.to_numpy()[:, :, :3])
    bitmap.close()
    return arrays[0]


def _single_scanned_image(page, pdfium_c):  # type: ignore[no-untyped-def]
    """The page's only content when it is one upright image covering the page, else None."""
    if pdfium_c.FPDFPage_CountObjects(page.raw) != 1:  # a vector page: its objects not listed one by one
        return None
    objects = list(page.get_objects(max_depth=2))
    images = [o for o in objects if o.type == pdfium_c.FPDF_PAGEOBJ_IMAGE]
    if len(images) != 1 or len(objects) != 1:
        return None
    a, b, c, d, _, _ = images[0].get_matrix().get()
    width_pt, height_pt = page.get_size()
    upright = abs(b) < 1e-3 and abs(c) < 1e-3 and a > 0 and d > 0
    covers = a >= 0.9 * width_pt and d >= 0.9 * height_pt
    return images[0] if upright and covers else None


def _to_page_image(number: int, pil: Image.Image, dpi: float) -> PageImage:
    is_color = pil.mode not in {"1", "L", "LA", "I", "I;16", "F"}
    rgb = pil.convert("RGB")
    array = cv2.cvtColor(np.asarray(rgb), cv2.COLOR_RGB2BGR)  # (a reversed copy costs twice the time)
    if is_color:
        is_color = _has_colour(array)
    return PageImage(number=number, image=array, dpi=dpi, is_color=is_color)


def _has_colour(bgr: np.ndarray) -> bool:
    """True when some pixels are clearly coloured (a grey scan saved as RGB is not)."""
    small = bgr[::8, ::8]
    b, g, r = small[..., 0], small[..., 1], small[..., 2]  # three channels compared, not reduced over an axis
    spread = np.maximum(np.maximum(b, g), r) - np.minimum(np.minimum(b, g), r)  # (ten times faster)
    return bool((spread > 40).mean() > 0.0005)


def open_document(path: Path, limits: LimitSettings, filename: str | None = None) -> Document:
    """Open a file; size is checked before the bytes are read."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror})") from exc
    if size > limits.max_bytes:
        raise InputError(f"file too large ({size} bytes > {limits.max_bytes})")
    if path.is_dir():
        raise InputError("is a directory")
    return Document(path.read_bytes(), filename or path.name, limits)
