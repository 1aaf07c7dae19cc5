"""One package per Lambda function; each holds a thin handler module."""
