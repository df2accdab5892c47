"""SQLAlchemy dialect for Vertex AI TensorBoard runs (see issue: runs_dialect)."""
