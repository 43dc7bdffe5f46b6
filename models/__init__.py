"""Shared data models: result schemas (pydantic), indicator catalogues, database tables."""
