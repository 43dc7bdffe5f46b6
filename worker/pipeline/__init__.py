"""The extraction pipeline: small framework-free stages with typed data between them.

load → preprocess → layout → ocr → rows → mapping → values → validate → route (+ metadata),
driven by `extract.Extractor`; `templates` tells the form, and the 2019+ forms go through
`matrix` → `matrix_mapping` → `matrix_validate` (`matrix_extract`). Nothing here imports
web, queue or database code.
"""
