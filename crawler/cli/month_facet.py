"""A Datasette facet by calendar month (``{"month": "published_at_utc"}``), for ``newsarchive serve``.

Datasette facets a date column by day only; over years of articles a researcher wants months. The
month is the first seven characters of an ISO date (``2024-05``): ``published_at_utc`` holds a UTC
timestamp, a date or a year-month (docs/schema.md, conventions), all of which start with it. A value
is selected with Datasette's own ``column__startswith=2024-05`` filter, so the selection is an
ordinary table filter (shown, removable, kept in links and exports). Months are listed newest first.

Registered as a plugin by :func:`register` (crawler/cli/serve.py, when the server starts).
"""

from __future__ import annotations

from typing import Any

from datasette import hookimpl
from datasette.facets import Facet
from datasette.utils import escape_sqlite, path_with_added_args, path_with_removed_args

PLUGIN_NAME = "newsarchive-month-facet"


class MonthFacet(Facet):
    type = "month"

    async def suggest(self) -> list[dict[str, Any]]:
        return []  # configured in the metadata, never suggested

    async def facet_results(self) -> tuple[list[dict[str, Any]], list[str]]:
        from datasette.database import QueryInterrupted

        results, timed_out = [], []
        args = dict(self.get_querystring_pairs())
        facet_size = self.get_facet_size()
        for source_and_config in self.get_configs():
            config, source = source_and_config["config"], source_and_config["source"]
            column = config.get("column") or config["simple"]
            month = f"substr({escape_sqlite(column)}, 1, 7)"
            sql = (
                f"select {month} as value, count(*) as count from ({self.sql}) "
                f"where {escape_sqlite(column)} glob '[0-9][0-9][0-9][0-9]-[0-9][0-9]*' "
                f"group by value order by value desc limit {facet_size + 1}"
            )
            try:
                rows = await self.ds.execute(
                    self.database,
                    sql,
                    self.params,
                    truncate=False,
                    custom_time_limit=self.ds.setting("facet_time_limit_ms"),
                )
            except QueryInterrupted:
                timed_out.append(column)
                continue
            arg = f"{column}__startswith"
            values = []
            for row in rows.rows[:facet_size]:
                selected = args.get(arg) == row["value"]
                toggle = (path_with_removed_args if selected else path_with_added_args)(
                    self.request, {arg: row["value"]}
                )
                values.append(
                    {
                        "value": row["value"],
                        "label": row["value"],
                        "count": row["count"],
                        "toggle_url": self.ds.absolute_url(self.request, toggle),
                        "selected": selected,
                    }
                )
            results.append(
                {
                    "name": column,
                    "type": self.type,
                    "results": values,
                    "hideable": source != "metadata",
                    "toggle_url": path_with_removed_args(self.request, {"_facet_month": column}),
                    "truncated": len(rows.rows) > facet_size,
                }
            )
        return results, timed_out


@hookimpl
def register_facet_classes() -> list[type[Facet]]:
    return [MonthFacet]


def register() -> None:
    """Add the facet to Datasette's plugins (once per process)."""
    import sys

    from datasette.plugins import pm

    if not pm.has_plugin(PLUGIN_NAME):
        pm.register(sys.modules[__name__], name=PLUGIN_NAME)
