"""HTTP: responses and the error boundary, the base URL, pages and their templates."""
