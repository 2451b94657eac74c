"""Adversarial tests: fuzzing, model-based plan/apply sequences, and security checks.

They search for failures instead of confirming the happy path; docs/security.md
names which test shows which guarantee.
"""
