"""The extraction pipeline: small framework-free stages with typed data between them.

load → preprocess → layout/matrix (tables) → templates (which form) → the form's layout
reader (`list_reader` or `matrix_reader`, on the cell library `cells`, `ocr`, `values`,
`mapping`/`matrix_mapping`, `metadata`) → `decide` (`route`, `validate`, `reasons`), driven
by `extract.Extractor`; docs/architecture.md draws it. Nothing here imports web, queue or
database code.
"""
