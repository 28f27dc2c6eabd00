"""Datasets for the five models: synthetic ones, and loaders for the real datasets' layouts."""
