"""Add new and changed articles from sources.toml to an index; safe from cron while the server runs.

    python scripts/update_index.py [--sources sources.toml] [--index var/index] [--prune] [--json]

Unchanged articles cost nothing; `--prune` removes articles whose file no longer exists.
Exit 0 done, 1 failed, 75 another build holds the index. See scripts/index_job.py.
"""

import sys

from index_job import main

if __name__ == "__main__":
    sys.exit(main("update", sys.argv[1:]))
