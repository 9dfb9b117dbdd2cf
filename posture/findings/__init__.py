"""The findings lifecycle: each finding a check run shows, tracked across runs by a stable key,
from open through remediation to resolved, disputed, accepted or judged a false positive."""
