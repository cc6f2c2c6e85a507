"""Cross-cutting HTTP glue: htmx helpers, error pages, security headers, formatting."""
