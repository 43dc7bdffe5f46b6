from pathlib import Path

import pytest

from worker.pipeline.gazetteer import BUILT_IN, Gazetteer


def test_a_read_one_or_two_characters_from_a_known_unit_finds_it():
    known = Gazetteer.of(["余姚市审计局", "余姚市财政局", "慈溪市气象局"])
    assert known.nearest("余姚计局", 2) == "余姚市审计局"  # a seal took 市审
    assert known.nearest("余姚市财攻局", 2) == "余姚市财政局"  # one character changed
    assert known.nearest("余姚计局", 1) is None  # two characters lost
    assert known.nearest("余姚市司法局", 2) is None  # another bureau: two characters changed
    assert known.nearest("宁海县商务局", 2) is None
    assert known.nearest("余姚市审计局", 0) is None


def test_a_read_equally_near_two_known_units_finds_neither():
    known = Gazetteer.of(["余姚市审计局", "慈溪市审计局"])
    assert known.nearest("X溪市审计局", 2) == "慈溪市审计局"
    assert known.nearest("市审计局", 2) is None


def test_files_of_names_and_csv_rows_with_comments_and_blank_lines(tmp_path: Path):
    text = tmp_path / "units.txt"
    text.write_text("# known units\n余姚市审计局\n\n 宁海县商务局 \n", encoding="utf-8")
    table = tmp_path / "units.csv"
    table.write_text("\ufeff奉化市旅游局,旅游\n#慈溪市气象局\n", encoding="utf-8")
    loaded = Gazetteer.load([text, table])
    assert loaded.units == frozenset({"余姚市审计局", "宁海县商务局", "奉化市旅游局"})
    assert loaded.knows("宁海县商务局") and not loaded.knows("慈溪市气象局")
    with pytest.raises(FileNotFoundError):
        Gazetteer.load([tmp_path / "missing.txt"])


def test_the_built_in_list_loads_without_its_comments():
    built_in = Gazetteer.load([BUILT_IN])
    assert "余姚市档案局" in built_in.units
    assert not any(name.startswith("#") for name in built_in.units)
