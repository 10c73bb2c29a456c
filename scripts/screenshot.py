"""Take docs/screenshot.png: the search page over the demo index, with a real search.

    .venv/bin/python scripts/screenshot.py [--index var/demo] [--query "..."] [--out docs/screenshot.png]

Builds the demo index from data/sample first when it is missing. Needs Debian's Chromium at
/usr/bin/chromium (`make browser`); never downloads a browser.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from playwright.sync_api import sync_playwright  # noqa: E402

from search.api import create_app  # noqa: E402
from search.live import serve_in_background  # noqa: E402
from search.settings import Settings  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEFAULT_QUERY = "how much power does the new offshore wind farm deliver?"


def ensure_index(index_dir: Path) -> None:
    if (index_dir / "manifest.json").is_file():
        return
    from index.build import build
    from index.encoders import load_encoder

    print(f"building the demo index at {index_dir} from data/sample …")
    build([REPO / "data" / "sample"], index_dir, load_encoder())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, default=REPO / "var" / "demo")
    parser.add_argument("--query", default=DEFAULT_QUERY)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshot.png")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    if not CHROMIUM.exists():
        print("no Chromium at /usr/bin/chromium — run `make browser` first", file=sys.stderr)
        return 1
    ensure_index(args.index)

    app = create_app(Settings(index=args.index))
    with serve_in_background(app, port=args.port) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": args.width, "height": args.height})
        page.goto(f"{base}/?{urlencode({'q': args.query})}")
        page.locator(".result").first.wait_for()
        page.wait_for_function("() => !document.querySelector('#source-note')")  # outlets loaded
        page.wait_for_function("() => !document.querySelector('#results[aria-busy]')")
        page.wait_for_timeout(400)  # let the results fade back in fully
        page.mouse.move(0, 0)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.out))
        browser.close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
