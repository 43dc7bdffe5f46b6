"""docextract: scanned statistics tables of 政府信息公开工作年度报告 to validated JSON."""

__version__ = "0.1.0"
