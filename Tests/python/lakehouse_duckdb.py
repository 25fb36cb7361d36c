"""Runs DuckDB queries for the StrataLakehouse tests and prints their rows as JSON.

Usage: python3 lakehouse_duckdb.py QUERIES.json
QUERIES.json is an object {name: sql}. The output is one JSON object {name: [row, ...]} where
each row is an object of column name to value, as DuckDB's to_json renders it (timestamps as
text, JSON columns as values). A query that fails prints {name: {"error": message}}.
"""
import json
import sys

import duckdb


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        queries = json.load(f)
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    result = {}
    for name, sql in queries.items():
        try:
            # to_json renders every type DuckDB has (TIMESTAMPTZ needs no pytz); the table keeps the order.
            connection.execute(f"CREATE OR REPLACE TEMP TABLE result AS {sql}")
            rows = connection.execute("SELECT to_json(result)::VARCHAR FROM result").fetchall()
            result[name] = [json.loads(row[0]) for row in rows]
        except Exception as error:  # noqa: BLE001 - reported to the Swift test
            result[name] = {"error": str(error)}
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
