"""Joint needs assessment workbook for Combating Drugs Partnerships.

The package holds every piece of logic the notebooks call: parameters, data
contracts and loaders, indicator statistics, prevalence estimation, statistical
disclosure control, charts and tables, and the runner that executes the notebooks
and publishes the report.
"""

__version__ = "0.1.0"
