"""Backfill `status_bucket` on the `orders` items written before the bucketed status index (docs/CAPACITY.md).

    python -m infra.migrate_status_index --table <orders table name> [--segments 4] [--region R] [--endpoint-url U]

Run once after the deploy that adds `by_status_bucket`, before the one that removes `by_status`; running it again
changes nothing. Uses the caller's AWS credentials (it needs Scan and UpdateItem on the table).
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor

import boto3

from ocp.adapters.dynamodb.status_index import backfill_status_buckets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.migrate_status_index", description=__doc__.splitlines()[0])
    parser.add_argument("--table", required=True, help="the deployed orders table's name")
    parser.add_argument("--segments", type=int, default=4, help="parallel scan segments")
    parser.add_argument("--region")
    parser.add_argument("--endpoint-url")
    args = parser.parse_args(argv)
    def segment(n: int) -> int:  # a resource per thread: boto3 resources are not thread-safe
        resource = boto3.session.Session().resource("dynamodb", region_name=args.region,
                                                    endpoint_url=args.endpoint_url)
        return backfill_status_buckets(resource.Table(args.table), segment=n, segments=args.segments)

    with ThreadPoolExecutor(max_workers=args.segments) as pool:
        updated = sum(pool.map(segment, range(args.segments)))
    print(f"{updated} order items given their status bucket")
    return 0


if __name__ == "__main__":
    sys.exit(main())
