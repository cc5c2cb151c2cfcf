"""`harness smoke`: a preset's whole pipeline at toy scale, with a random stand-in of its student.

`toy` holds the built-in toy data (s1K-1.1-schema teacher rows, benchmark files), `standin`
builds the stand-in model and data in the run store, `plan` turns a preset into the smoke's
overrides and `harness.commands.smoke` runs `harness run`'s pipeline with them.
"""
