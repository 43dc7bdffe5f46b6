"""The Fujian form (FJ2009) end to end on generated scans, and a form added as a folder of
data: detected and read with no code of its own."""

import shutil
from pathlib import Path

import pytest

from docextract.settings import Settings, TemplateSettings
from fixtures.fj2009 import generate_fj2009_document
from models.template import BUILT_IN, load_catalogue
from worker.pipeline.extract import Extractor

pytestmark = pytest.mark.ocr
SEED = 20261122
SEVENTEEN_ROWS, SIXTEEN_ROWS = 11, 5  # a colour scan of the 17-row form; a poor copy of the 16-row one


@pytest.fixture(scope="module")
def fujian(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[Path, dict]]:
    out = tmp_path_factory.mktemp("fj2009")
    scans = {}
    for index in (SEVENTEEN_ROWS, SIXTEEN_ROWS):
        gt = generate_fj2009_document(SEED, index, out)
        scans[index] = (out / gt["file"], gt)
    return scans


@pytest.mark.parametrize("index", [SEVENTEEN_ROWS, SIXTEEN_ROWS])
def test_fujian_form_every_value_right_or_in_review(extractor, fujian, index):
    path, gt = fujian[index]
    result = extractor.extract_file(path)
    assert result.template is not None and result.template.id == "FJ2009"
    assert [f.code for f in result.fields] == load_catalogue("FJ2009").codes
    assert (result.report.unit_name, result.report.year) == (gt["unit_name"], gt["year"])
    for field in result.fields:
        assert field.value == gt["fields"][field.code] or field.status == "review", field.code


def test_the_sixteen_row_version_leaves_its_dropped_row_not_printed(extractor, fujian):
    path, gt = fujian[SIXTEEN_ROWS]
    assert "rows16" in gt["notes"]
    result = extractor.extract_file(path)
    dropped = {f.code: f for f in result.fields if f.code.startswith("FJ2009-2.6@")}
    assert {code: (f.value, f.reasons) for code, f in dropped.items()} == {
        "FJ2009-2.6@year": (None, ["not_printed"]),
        "FJ2009-2.6@total": (None, ["not_printed"]),
    }
    # 行政申诉、举报数 and 对申请的答复总数 are the 16-row version's wordings of rows 6 and 3.
    assert result.field("FJ2009-6@year").value == gt["fields"]["FJ2009-6@year"]
    assert result.field("FJ2009-3@year").value == gt["fields"]["FJ2009-3@year"]


def test_a_form_added_as_a_folder_is_detected_and_read_without_code(extractor, fujian, tmp_path):
    """A deployment's own form: FJ2009's data under another id and codes, in a folder of
    DOCEXTRACT_TEMPLATES__DIRS, preferred over the built-in form (its priority)."""
    folder = tmp_path / "forms" / "xm2010"
    shutil.copytree(BUILT_IN / "fj2009", folder)
    for name in ("indicators.csv", "rules.csv"):
        (folder / name).write_text((folder / name).read_text(encoding="utf-8").replace("FJ2009-", "XM-"), "utf-8")
    spec = (folder / "template.toml").read_text(encoding="utf-8")
    spec = spec.replace('id = "FJ2009"', 'id = "XM2010"\npriority = 5').replace('"FJ2009-', '"XM-')
    (folder / "template.toml").write_text(spec, "utf-8")
    settings = Settings(templates=TemplateSettings(dirs=[tmp_path / "forms"]))
    path, gt = fujian[SEVENTEEN_ROWS]

    result = Extractor(settings, extractor.engine).extract_file(path)

    assert result.template is not None and result.template.id == "XM2010"
    assert {f.code: f.value for f in result.fields} == {
        code.replace("FJ2009-", "XM-"): value for code, value in gt["fields"].items()
    }
    assert result.status == "extracted"


def test_the_unit_line_names_the_unit_and_the_narratives_title_is_evidence(extractor, tmp_path):
    """An FJ2009 report whose 填报单位 line prints the short form (区档案局) under a narrative
    titled with the full name (仓山区档案局): the unit line's print is the report's unit."""
    drawn = generate_fj2009_document(SEED, 1, tmp_path / "drawn")
    short = drawn["details"]["unit_short"]
    gt = generate_fj2009_document(SEED, 1, tmp_path, unit_printed=short)
    assert gt["unit_name"] == short and gt["details"]["narrative_title"] == drawn["unit_name"] != short
    assert gt["file"].endswith(".pdf") and gt["details"]["narrative_pages"] > 0
    result = extractor.extract_file(tmp_path / gt["file"])
    assert result.report.unit_name == short


def test_a_grey_seal_over_the_value_columns_loses_no_row_and_reads_digits_beside_its_lettering(extractor, tmp_path):
    """A grey copy with the seal stamped over both value columns: its lettering and ring read
    as 米, 鼓 or an extra 1 in the cells under it. The rows there are still rows (not lost to
    the mapping), and a number is read again from its digit-sized ink alone (on record; accepted
    only where a sum that adds up or a second read alike settles it)."""
    gt = generate_fj2009_document(515, 11, tmp_path)
    assert {"grayscale", "seal_over_values"} <= set(gt["notes"])
    result = extractor.extract_file(tmp_path / gt["file"])
    assert not [f.code for f in result.fields if "not_found" in f.reasons]
    for code in ("FJ2009-2.1@year", "FJ2009-2.1@total", "FJ2009-2.2@total", "FJ2009-2.5@year"):
        field = result.field(code)
        assert field.value == gt["fields"][code], code
        assert "digits_isolated" in field.reasons, code
    for field in result.fields:
        assert field.value == gt["fields"][field.code] or field.status == "review", field.code
