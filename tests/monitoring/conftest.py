from tests.dashboards.conftest import snapshots

__all__ = ["snapshots"]
