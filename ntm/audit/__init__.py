"""Audit trail: decision records that anyone can re-run, signatures, and a tamper-evident register."""
