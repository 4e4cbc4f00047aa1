"""Small helpers shared by the browser tests."""

from pathlib import Path

AXE_TAGS = ["wcag2a", "wcag2aa", "best-practice"]
BLOCKING_IMPACTS = {"serious", "critical"}

# Pages readers reach, with something on each that shows the page really rendered.
READER_PAGES = {
    "home": ("/", "h1"),
    "article": ("/posts/flash-attention/", "article.post math"),
    "tag": ("/tags/机器学习/", ".entry"),
    "search": ("/search/?q=注意力", ".search-snippet mark"),
    "archive": ("/archive/", ".archive-year"),
    "not-found": ("/posts/no-such-post/", "h1"),
}


def run_axe(page, axe_path: Path) -> list[dict]:
    """axe-core's violations on the page as it is now (needs a bypass_csp context)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(axe_path))
    return page.evaluate(
        """async (tags) => {
            const results = await axe.run(document, {
                runOnly: {type: "tag", values: tags},
                resultTypes: ["violations"],
            });
            return results.violations.map((v) => ({
                id: v.id,
                impact: v.impact,
                help: v.help,
                helpUrl: v.helpUrl,
                nodes: v.nodes.map((n) => ({
                    target: n.target.join(" "),
                    html: n.html.slice(0, 200),
                    summary: n.failureSummary,
                })),
            }));
        }""",
        AXE_TAGS,
    )


def format_violations(label: str, violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"[{label}] {violation['impact']}: {violation['id']} — {violation['help']}"
            f" ({violation['helpUrl']})"
        )
        for node in violation["nodes"][:8]:
            summary = " ".join((node["summary"] or "").split())
            lines.append(
                f"    at {node['target']}\n      {node['html']}\n      {summary}"
            )
        if len(violation["nodes"]) > 8:
            lines.append(f"    … and {len(violation['nodes']) - 8} more elements")
    return "\n".join(lines)


def blocking(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
