"""Ingest: files and folders into documents, documents into passages with exact character offsets."""
