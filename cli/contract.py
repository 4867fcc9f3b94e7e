"""What scripts and CI rely on, defined once: exit statuses and the JSON output's version."""

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2  # nothing to report; findings; usage or environment error
JSON_VERSION = 1  # of the --format json documents; raised when a field changes meaning
