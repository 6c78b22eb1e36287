"""Analysis functions behind each chapter: pure functions of validated data frames,
returning tidy tables that the notebooks protect, record and display."""
