"""`bull`: the operator's CLI and the local stack. Never imported by the Lambda code."""
