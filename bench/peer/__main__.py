#!/usr/bin/env python3
"""Pages per second and field accuracy of docextract next to a peer pipeline, on the same scans.

    bench/peer [--set DIR ...] [--peer-python PATH] [--engines docextract,peer,peer+borderless]

The peer is what an issue compared against (≥ 4× its pages per second per process, accuracy
not lower): img2table table extraction with its RapidOCR instance on the PP-OCR ONNX models
the `rapidocr` wheel ships (the models docextract runs), then fuzzy label mapping: each table
row's first text cell is matched to the GK2008 catalogue's labels with rapidfuzz and the row's
last numeric cell is its value. `peer` looks for bordered tables only (the form is ruled: its
fastest reading), `peer+borderless` for borderless ones too (it finds some tables the first
misses on noisy scans, and "tables" in narrative pages). img2table OCRs only the pages where it
found a table: a page it found none on costs the peer little and gives it no field.
The peer reads GK2008 (list form) only, so only scans whose gt/<name>.json has template
GK2008 (or none) are run. Defaults: the repository's samples/ and ../shared/samples when it
is beside the repository.

Each engine runs in one process of its own, one after the other, with one inference thread
(onnxruntime and OpenCV), on the same scans; model loading is timed apart, not in pages/s.
Prints, per set and engine: docs, pages, pages taken for table pages, seconds, s/page, pages/s,
the process's CPU seconds per page, field accuracy (gt code → number or null, bench/accuracy's
rule; a code not read counts as wrong) and docextract's pages/s ÷ the row's, in wall-clock
and in CPU seconds (the steadier of the two on a machine other jobs load).
img2table is not a dependency of docextract: `--peer-python` names an interpreter that has it
(it needs opencv-contrib-python, which would replace the project's OpenCV build; see README).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import cache, partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.truth import ground_truth, same, set_scans  # noqa: E402

IMG2TABLE = "img2table==2.0.0"  # the version measured
RENDER_DPI = 200  # worker/pipeline/load.py's dpi for PDF pages that are not one scanned image
MIN_SCORE = 70  # rapidfuzz WRatio below this: the row is no catalogue row (a heading, a note)
_NUMBER = re.compile(r"-?\d+(\.\d+)?")

Values = dict[str, float | None]
Reading = tuple[Values | None, int]  # values (None: the input was refused), pages taken for table pages
Reader = Callable[[Path], Reading]


def gk2008_scans(directory: Path) -> list[Path]:
    """The scans of a set whose ground truth is the GK2008 form (no template key: GK2008)."""
    scans = set_scans(directory)
    return [p for p in scans if ground_truth(p).get("template", "GK2008") == "GK2008"]


# --- docextract -----------------------------------------------------------------------------


def docextract_engine() -> Reader:
    """The CLI's own worker set-up: one onnxruntime and one OpenCV thread per process."""
    from docextract.cli_extract import process_extractor
    from worker.pipeline.errors import InputError

    extractor = process_extractor(threads=1)

    def read(path: Path) -> Reading:
        try:
            result = extractor.extract_file(path)
        except InputError:
            return None, 0
        return {f.code: f.value for f in result.fields}, len(result.template.pages if result.template else [])

    return read


# --- the peer: img2table + RapidOCR + rapidfuzz ------------------------------------------------


def peer_engine(borderless: bool) -> Reader:
    import cv2
    from img2table.ocr import RapidOCR
    from rapidocr import LangRec

    class CountingOcr(RapidOCR):
        """Counts the pages img2table OCRs: those it found a table on, no other."""

        pages = 0

        def of(self, document: Any) -> Any:
            self.pages += len(document.images)
            return super().of(document)

    cv2.setNumThreads(1)
    # img2table's own RapidOCR instance with the wheel's Chinese models (its default is English,
    # which rapidocr would download); no angle classifier, as docextract: the scans are upright.
    ocr = CountingOcr(
        params={
            "Rec.lang_type": LangRec.CH,
            "Global.log_level": "error",
            "Global.use_cls": False,
            "EngineConfig.onnxruntime.intra_op_num_threads": 1,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
    )
    labels = catalogue_labels()

    def read(path: Path) -> Reading:
        before = ocr.pages
        rows = table_rows(page_images(path), ocr, borderless)
        return map_rows(rows, labels), ocr.pages - before

    return read


def catalogue_labels() -> dict[str, str]:
    """GK2008 code → printed label, in table order (the registry worker/pipeline/extract.py reads)."""
    from models.template import registry

    return {i.code: i.label for i in registry()["GK2008"].catalogue.indicators}


def page_images(path: Path) -> list[Any]:
    """Every page as an RGB array, as img2table's own loaders give them."""
    import numpy as np
    from PIL import Image, ImageOps, ImageSequence

    with path.open("rb") as file:
        is_pdf = file.read(5) == b"%PDF-"
    if is_pdf:
        return pdf_pages(path)
    with Image.open(path) as image:
        frames = [ImageOps.exif_transpose(f).convert("RGB") for f in ImageSequence.Iterator(image)]
    return [np.asarray(f) for f in frames]


def pdf_pages(path: Path) -> list[Any]:
    """A page that is one scanned image at the image's own resolution (what docextract reads),
    any other at RENDER_DPI: the peer gets no more or fewer pixels than docextract."""
    import cv2
    import pypdfium2
    import pypdfium2.raw as pdfium_c

    pages = []
    pdf = pypdfium2.PdfDocument(path)
    try:
        for page in pdf:
            scale = RENDER_DPI / 72
            images = list(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=1))
            if len(images) == 1:
                scale = images[0].get_px_size()[0] / page.get_width()
            pages.append(cv2.cvtColor(page.render(scale=scale).to_numpy(), cv2.COLOR_BGR2RGB))
    finally:
        pdf.close()
    return pages


@cache
def pages_document() -> type:
    """img2table's Document over page images already decoded (its Image reads one frame of a TIFF)."""
    from img2table.document._types import Document

    class Pages(Document):
        def __init__(self, arrays: list[Any]) -> None:
            super().__init__(src=b"")
            self.arrays = arrays

        @property
        def images(self) -> list[Any]:
            return self.arrays

    return Pages


def table_rows(images: list[Any], ocr: Any, borderless: bool) -> list[list[str]]:
    """The text cells of every row of every table img2table finds, page by page (rows split
    at text lines too: implicit_rows, or a scan's faint rules merge rows)."""
    document = pages_document()(images)
    tables = document.extract_tables(ocr=ocr, implicit_rows=True, borderless_tables=borderless)
    rows = []
    for page in sorted(tables):
        for table in tables[page]:
            for cells in table.content.values():
                # a merged cell is repeated in each column it spans: keep it once
                texts = [c.value for i, c in enumerate(cells) if i == 0 or c != cells[i - 1]]
                rows.append([" ".join(t.split()) for t in texts if t and t.strip()])
    return rows


def map_rows(rows: list[list[str]], labels: dict[str, str]) -> Values:
    """Each row's first text cell → the best-scoring catalogue label not yet taken (labels
    printed twice, as 其他情形数, go to their codes in table order); value: the last number."""
    from rapidfuzz import fuzz, process

    values: Values = {}
    for cells in rows:
        if not cells:
            continue
        matches = process.extract(cells[0], labels, scorer=fuzz.WRatio, score_cutoff=MIN_SCORE, limit=5)
        free = [code for _, _, code in matches if code not in values]
        if free:
            values[free[0]] = last_number(cells[1:])
    return values


def last_number(cells: list[str]) -> float | None:
    for text in reversed(cells):
        compact = text.replace(",", "").replace("，", "").replace(" ", "")
        if _NUMBER.fullmatch(compact):
            return float(compact)
    return None


# --- one engine in one process -----------------------------------------------------------------


ENGINES = {
    "docextract": docextract_engine,
    "peer": partial(peer_engine, False),  # img2table's bordered tables only: its fastest reading
    # borderless too: reads some tables the bordered search misses on noisy scans, and text pages
    "peer+borderless": partial(peer_engine, True),
}


def run_engine(name: str, sets: list[Path]) -> dict[str, Any]:
    started = time.perf_counter()
    read = ENGINES[name]()
    load = time.perf_counter() - started
    return {"load": load, "sets": [score(read, directory) for directory in sets]}


def score(read: Reader, directory: Path) -> dict[str, Any]:
    docs = pages = tables = gt_tables = fields = right = 0
    seconds = cpu = 0.0
    for scan in gk2008_scans(directory):
        gt = ground_truth(scan)
        started, cpu_started = time.perf_counter(), time.process_time()
        values, table_pages = read(scan)
        seconds += time.perf_counter() - started
        cpu += time.process_time() - cpu_started
        docs += 1
        pages += gt["pages"]
        tables += table_pages
        gt_tables += len(gt.get("table_pages", []))
        for code, printed in gt["fields"].items():
            fields += 1
            right += values is not None and code in values and same(values[code], printed)
    counts = {"docs": docs, "pages": pages, "tables": tables, "gt_tables": gt_tables, "fields": fields, "right": right}
    return {"set": set_name(directory), "seconds": seconds, "cpu": cpu, **counts}


def set_name(directory: Path) -> str:
    """samples, shared/samples: the set's path from the repository, or from beside it."""
    for base in (ROOT, ROOT.parent):
        if directory.is_relative_to(base):
            return str(directory.relative_to(base))
    return str(directory)


# --- the driver ----------------------------------------------------------------------------


def in_child(python: str, engine: str, sets: list[Path]) -> dict[str, Any]:
    """Run one engine in a fresh process of `python`: its own models, threads and memory."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [python, str(Path(__file__).resolve()), "--engine", engine, "--result", out.name]
        command += [arg for s in sets for arg in ("--set", str(s))]
        subprocess.run(command, check=True)
        return json.loads(Path(out.name).read_text(encoding="utf-8"))


def has_img2table(python: str) -> bool:
    return subprocess.run([python, "-c", "import img2table"], capture_output=True).returncode == 0


def print_table(results: dict[str, dict[str, Any]]) -> None:
    header = (
        f"{'set':<18}{'engine':<17}{'docs':>5}{'pages':>6}{'tables':>7}{'seconds':>9}{'s/page':>8}"
        f"{'pages/s':>9}{'cpu s/page':>11}{'accuracy':>10}{'ratio':>7}{'cpu ratio':>10}"
    )
    print(header)
    print("-" * len(header))
    names = [s["set"] for s in next(iter(results.values()))["sets"]]
    for index, name in enumerate([*names, "all"]):
        rows = {e: total(r["sets"]) if name == "all" else r["sets"][index] for e, r in results.items()}
        for engine, r in rows.items():
            print(
                f"{name[:17]:<18}{engine:<17}{r['docs']:>5}{r['pages']:>6}{r['tables']:>7}{r['seconds']:>9.1f}"
                f"{r['seconds'] / max(r['pages'], 1):>8.2f}{r['pages'] / max(r['seconds'], 1e-9):>9.3f}"
                f"{r['cpu'] / max(r['pages'], 1):>11.2f}{r['right'] / max(r['fields'], 1):>10.2%}"
                f"{ratios(rows, engine)}"
            )
    first = next(iter(results.values()))["sets"]
    print()
    print("tables: pages docextract read as table pages; pages img2table found a table on (the pages it OCRs).")
    print("Table pages in the gt: ", end="")
    print(", ".join(f"{s['set']} {s['gt_tables']}" for s in first))
    print("ratio: docextract pages/s ÷ the row's, in wall-clock seconds (as the issue asks) and in the process's")
    print("CPU seconds (steadier on a loaded machine). Model loading is not counted:", end=" ")
    print(", ".join(f"{e} {r['load']:.1f} s" for e, r in results.items()))


def ratios(rows: dict[str, dict[str, Any]], engine: str) -> str:
    """docextract's pages per second ÷ `engine`'s, wall-clock and CPU: seconds per page the other way."""
    if engine == "docextract" or "docextract" not in rows:
        return ""
    ours, theirs = rows["docextract"], rows[engine]
    wall = (theirs["seconds"] / theirs["pages"]) / max(ours["seconds"] / ours["pages"], 1e-9)
    cpu = (theirs["cpu"] / theirs["pages"]) / max(ours["cpu"] / ours["pages"], 1e-9)
    return f"{wall:>7.2f}{cpu:>10.2f}"


def total(sets: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("docs", "pages", "tables", "seconds", "cpu", "fields", "right")
    return {k: sum(s[k] for s in sets) for k in keys}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, action="append", dest="sets")
    parser.add_argument("--peer-python", default=sys.executable, help="an interpreter with img2table installed")
    parser.add_argument(
        "--engines", type=lambda v: v.split(","), default=list(ENGINES), help="comma-separated: " + ",".join(ENGINES)
    )
    parser.add_argument("--engine", choices=tuple(ENGINES), help=argparse.SUPPRESS)  # a child's one engine
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:
        result = run_engine(args.engine, args.sets)
        args.result.write_text(json.dumps(result), encoding="utf-8")
        return
    if unknown := set(args.engines) - set(ENGINES):
        parser.error(f"unknown engines: {', '.join(sorted(unknown))}")
    if any(e != "docextract" for e in args.engines) and not has_img2table(args.peer_python):
        missing = f"bench/peer: img2table missing in {args.peer_python}: pip install {IMG2TABLE} (see README)"
        print(missing, file=sys.stderr)
        sys.exit(2)
    shared = ROOT.parent / "shared"
    sets = args.sets or [d for d in (ROOT / "samples", shared / "samples") if d.is_dir()]
    sets = [s.resolve() for s in sets if gk2008_scans(s)]
    results = {e: in_child(sys.executable if e == "docextract" else args.peer_python, e, sets) for e in args.engines}
    print_table(results)
    print(f"one process per engine, one after the other, one inference thread each; {len(sets)} sets")


if __name__ == "__main__":
    main()
