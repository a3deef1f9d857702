"""Fillable dossier templates (`ntm template`): YAML for one unit, CSV/XLSX sheets for many (`ntm batch` input)."""
