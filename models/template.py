"""Templates: each statistics form as one unit of data, found by a registry.

A template is a folder (`models/templates/<id>/`): `template.toml` (its id, which layout
reader reads it, its detection vocabulary, loose units, optional rows, alternate wordings),
`indicators.csv`, `rules.csv` and, for a matrix form, `variants.csv`. The registry holds the
folders shipped with the product and those of `DOCEXTRACT_TEMPLATES__DIRS` (a deployment's own
forms): adding a form is adding a folder.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from models.catalogue import Catalogue, MatrixCatalogue, read_list_catalogue, read_matrix_catalogue, split_marker

Layout = Literal["list", "matrix"]
BUILT_IN = Path(str(resources.files("models").joinpath("templates")))


@dataclass(frozen=True)
class Template:
    id: str
    name: str
    layout: Layout  # "list": label | unit | value rows; "matrix": ruled tables with merged cells
    folder: Path
    priority: int  # breaks a tie of detection votes (the newer form of a family)
    phrases: tuple[str, ...]  # header and label texts that vote for this form
    labels_vote: bool  # its catalogue's row labels vote too
    unit_groups: tuple[frozenset[str], ...]  # units a report may print for one another
    optional_rows: tuple[str, ...]  # row codes some versions of the form do not print
    label_less_tables: tuple[str, ...]  # captions (their first character) of tables without row labels
    signed_columns: tuple[str, ...]  # column keys whose numbers may be below zero (本年增/减)
    # A matrix form whose table has a 填报单位 line above it (FJ2009): the line's print names the
    # unit, the narrative's title is evidence. Without one (2019+), the title names it. A list
    # form (GK2008) always has the line.
    unit_line: bool
    alternates: tuple[tuple[str, tuple[str, ...]], ...]  # row code → other printed wordings

    @property
    def catalogue(self) -> Catalogue:
        """Every code of the form in contract order, and its rules."""
        return (
            self.matrix.catalogue
            if self.layout == "matrix"
            else read_list_catalogue(self.folder, self.id, self.alternates)
        )

    @property
    def matrix(self) -> MatrixCatalogue:
        """The printed rows, columns and variants of a matrix form."""
        if self.layout != "matrix":
            raise ValueError(f"{self.id} is not a matrix form")
        return read_matrix_catalogue(self.folder, self.id, self.alternates)

    def vocabulary(self) -> tuple[str, ...]:
        """The texts that vote for this form in detection."""
        labels: list[str] = []
        if self.labels_vote:
            rows = self.matrix.rows if self.layout == "matrix" else self.catalogue.indicators
            for row in rows:
                label = row.path[-1] if self.layout == "matrix" else row.label  # type: ignore[union-attr]
                labels += [split_marker(text)[2] for text in (label, *row.alternates)]
        return tuple(dict.fromkeys([*(t for t in labels if len(t) >= 4), *self.phrases]))

    def is_signed(self, code: str) -> bool:
        """Whether the code's number may be printed below zero."""
        return code.rpartition("@")[2] in self.signed_columns if "@" in code else False

    def same_unit(self, read: str, expected: str) -> bool:
        """Whether a unit as printed is the catalogue's, or one the form prints for it."""
        return read == expected or any(read in group and expected in group for group in self.unit_groups)


def read_template(folder: Path) -> Template:
    """The template of one folder; ValueError when its template.toml is incomplete."""
    try:
        spec = tomllib.loads((folder / "template.toml").read_text(encoding="utf-8"))
        detection = spec.get("detection", {})
        layout = spec["layout"]
        if layout not in ("list", "matrix"):
            raise ValueError(f"layout {layout!r} is neither 'list' nor 'matrix'")
        return Template(
            id=spec["id"],
            name=spec.get("name", spec["id"]),
            layout=layout,
            folder=folder,
            priority=int(spec.get("priority", 0)),
            phrases=tuple(detection.get("phrases", ())),
            labels_vote=bool(detection.get("labels", True)),
            unit_groups=tuple(frozenset(group) for group in spec.get("unit_groups", ())),
            optional_rows=tuple(spec.get("optional_rows", ())),
            label_less_tables=tuple(spec.get("label_less_tables", ())),
            signed_columns=tuple(spec.get("signed_columns", ())),
            unit_line=bool(spec.get("unit_line", False)),
            alternates=tuple((code, tuple(words)) for code, words in spec.get("alternate_labels", {}).items()),
        )
    except (OSError, KeyError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"{folder}: not a template folder ({error})") from error


@cache
def registry(extra_dirs: tuple[Path, ...] = ()) -> dict[str, Template]:
    """Every template: the built-in folders, then those under each of `extra_dirs` (a
    deployment's forms; one with a built-in id replaces it)."""
    found: dict[str, Template] = {}
    for root in (BUILT_IN, *extra_dirs):
        for folder in sorted(p for p in Path(root).iterdir() if (p / "template.toml").is_file()):
            template = read_template(folder)
            found[template.id] = template
    return found


def get_template(template_id: str, extra_dirs: Iterable[Path] = ()) -> Template:
    """KeyError when no registered template has this id."""
    return registry(tuple(extra_dirs))[template_id]


def load_catalogue(template_id: str) -> Catalogue:
    """The catalogue (codes and rules) of a registered template."""
    return get_template(template_id).catalogue


def load_matrix_catalogue(template_id: str) -> MatrixCatalogue:
    """The printed rows and columns of a registered matrix template."""
    return get_template(template_id).matrix
