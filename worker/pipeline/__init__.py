"""The extraction pipeline: small framework-free stages with typed data between them.

load → preprocess → layout → ocr → rows → mapping → validate → route, driven by
`extract.Extractor`. Nothing here imports web, queue or database code.
"""
