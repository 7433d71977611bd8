"""A small Django + DRF project for the gencache.django tests: per-user paginated
dashboards over an Item table, and one view per kind of response the decorator handles."""
