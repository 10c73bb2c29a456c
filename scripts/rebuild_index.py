"""Rebuild an index from sources.toml into a new generation; safe from cron while the server runs.

    python scripts/rebuild_index.py [--sources sources.toml] [--index var/index] [--json]

A fresh store (articles gone from the sources are gone from the index), but passages whose encoder
input is unchanged take their vectors from the previous generation: nothing is embedded twice.
Exit 0 done, 1 failed, 75 another build holds the index. See scripts/index_job.py.
"""

import sys

from index_job import main

if __name__ == "__main__":
    sys.exit(main("rebuild", sys.argv[1:]))
