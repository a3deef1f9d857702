"""Authoring rulesets in a workbook: export a ruleset or overlay as decision tables a person can correct and
verify in Excel or LibreOffice, and import the workbook back into YAML (cell-addressed errors, exact round trip).

`layout` says what each sheet and column holds; `thresholds` turns a threshold into rows and back;
`workbook_export` and `workbook_import` read and write the file; `content` hashes and writes the YAML.
"""
