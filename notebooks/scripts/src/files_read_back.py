# Read back what an earlier turn left in the working directory: if summary.json is here, this is
# the same container as before.
import json
from pathlib import Path

path = Path("summary.json")
if not path.exists():
    raise FileNotFoundError(
        f"summary.json is not in {Path.cwd()}: this is not the container the earlier turn wrote it in"
    )
summary = json.loads(path.read_text())
print(f"Found {path} in {Path.cwd()}, written at {summary['written_at']}")
print(f"It describes {summary['source']}: {summary['rows']:,} rows x {summary['columns']} columns")
for key, value in summary.items():
    if key not in {"source", "written_at", "rows", "columns"}:
        print(f"  {key}: {value}")
