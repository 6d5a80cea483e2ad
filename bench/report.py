"""One line per measured ratio, tagged so ``marketing-pipeline bench`` (``make bench``) can gather
every benchmark's ratios into one table at the end."""

TAG = "@ratio"


def ratio(what: str, project: str, baseline: str, value: float, target: str = "") -> None:
    """``value``: how many times the baseline the project is (higher is better)."""
    print(f"{TAG}\t{what}\t{project}\t{baseline}\t{value:.2f}x\t{target}", flush=True)
