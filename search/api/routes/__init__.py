"""One module per resource, each exposing its APIRouter (or, when settings shape its schema, `router(settings)`)."""
