"""Reading ratings and writing results: long format, result tables, the report."""
