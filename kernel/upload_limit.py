"""Upload limits in one place: the services refuse more, and the app's uploaders state and
enforce the same (Streamlit counts its limits in MiB). No imports, so the CLI can read them
without loading the services."""

MAX_UPLOAD_MIB = 10
MAX_UPLOAD_BYTES = MAX_UPLOAD_MIB * 2**20
# A framework catalogue (an OSCAL catalog, a CISO Assistant library), imported by administrators.
FRAMEWORK_UPLOAD_MIB = 50
FRAMEWORK_UPLOAD_BYTES = FRAMEWORK_UPLOAD_MIB * 2**20
# The web server's ceiling: each uploader states and enforces its own, lower or equal.
LARGEST_UPLOAD_MIB = max(MAX_UPLOAD_MIB, FRAMEWORK_UPLOAD_MIB)


def upload_mib(limit_bytes: int) -> int:
    """A limit in bytes as the whole MiB an uploader is given (at least 1): the service holds
    the file to the exact byte limit."""
    return max(1, -(-limit_bytes // 2**20))
