"""Statistics for forced-choice preference studies: pure functions over DataFrames.

votes.py (the CSV contract), qc.py (exclusions rule by rule), bootstrap.py (two-way cluster
bootstrap), estimates.py (shares, intervals, tests, agreement, position bias, strengths),
report.py (summary.json, tables, LaTeX, Markdown, plots), simulate.py (synthetic raters and
study planning).
"""
