"""Joint needs assessment workbook for Combating Drugs Partnerships.

The package holds every piece of logic the notebooks call: parameters, data
contracts and loaders, indicator statistics, prevalence estimation, statistical
disclosure control, charts and tables, and the runner that executes the notebooks
and publishes the report. The layers and the direction of imports between them are in
``README.md`` beside this file (checked by import-linter, ``tests/test_layers.py``).
"""

__version__ = "0.1.0"
