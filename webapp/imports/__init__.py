"""Imports of tabular files (CSV or XLSX): validated whole, written all-or-nothing."""
