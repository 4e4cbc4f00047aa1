"""Which Chinese segmentation finds more of the right posts? CJK bigrams vs jieba.

    .venv/bin/python bench/search_eval.py     (make search-eval)

Indexes the demo posts twice in temporary PostgreSQL tables — once with the bigrams
that blog/search.py uses, once with jieba's search-mode segmentation — and runs a
hand-labelled set of queries against both with the same ranking (any term matches,
all terms rank first). Prints recall@5, precision@5 and MRR for each.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

# Query -> demo posts (file-name prefixes) a reader would want, judged by topic.
LABELLED = {
    "幻觉": {"01", "28"},
    "装饰器": {"04", "18"},
    "注意力": {"05", "09", "13"},
    "低秩": {"07"},
    "奖励模型": {"06", "08"},
    "分词": {"10", "30"},
    "显存": {"05", "09", "12"},
    "位置编码": {"13"},
    "全文检索": {"16"},
    "量化": {"27"},
    "蒸馏": {"25"},
    "专家": {"26"},
    "检索增强": {"28"},
    "归一化": {"23"},
    "召回率": {"22"},
    "评估指标": {"22"},
    "在线 softmax": {"05"},
    "负载均衡": {"26"},
    "二阶泰勒展开": {"02"},
    "线程块": {"20"},
    "词表": {"10", "30"},
    "attention": {"05", "09", "13"},
    "quantization": {"27"},
    "decorator": {"04", "18"},
    "broadcasting": {"19"},
    "weight decay": {"24"},
    "vector database": {"15", "28"},
    "kv cache": {"09"},
}


def main() -> None:
    try:
        import jieba
    except ImportError:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "jieba"])
        import jieba
    import logging

    import django

    jieba.setLogLevel(logging.WARNING)
    django.setup()
    from django.db import connection, transaction

    from blog import markdown, search

    docs = {}
    for path in sorted((ROOT / "blog" / "demo_posts").glob("*.md")):
        text = path.read_text()
        _, front, body = text.split("---", 2)
        title = re.search(r"^title:\s*(.+)$", front, re.M).group(1).strip().strip('"')
        docs[path.name[:2]] = (title, search.html_to_text(markdown.render(body).html))

    def jieba_segment(text: str) -> str:
        return " ".join(jieba.cut_for_search(text))

    def jieba_query(query: str) -> tuple[str, str]:
        words = [w.strip().lower() for w in jieba.cut_for_search(query)]
        words = [search._lexeme(w) for w in words if re.search(r"\w", w)]
        return " | ".join(words), " & ".join(words)

    def bigram_query(query: str) -> tuple[str, str]:
        parts = [search._term_tsquery(term) for term in search.query_terms(query)]
        return " | ".join(parts), " & ".join(parts)

    methods = {
        "CJK bigrams (shipped)": (search.segment, bigram_query),
        "jieba cut_for_search": (jieba_segment, jieba_query),
    }
    results = {}
    with transaction.atomic(), connection.cursor() as cursor:
        for name, (segment, to_query) in methods.items():
            cursor.execute(
                "CREATE TEMP TABLE eval_docs (id text, vec tsvector) ON COMMIT DROP"
            )
            for doc_id, (title, body) in docs.items():
                cursor.execute(
                    "INSERT INTO eval_docs VALUES (%s, setweight(to_tsvector('english', %s), 'A')"
                    " || setweight(to_tsvector('english', %s), 'B'))",
                    [doc_id, segment(title), segment(body)],
                )
            recall, precision, mrr = [], [], []
            for query, relevant in LABELLED.items():
                any_q, all_q = to_query(query)
                cursor.execute(
                    "SELECT id FROM eval_docs, to_tsquery('english', %s) a, "
                    "to_tsquery('english', %s) b WHERE vec @@ a "
                    "ORDER BY ts_rank(vec, a) + (vec @@ b)::int DESC, id LIMIT 5",
                    [any_q, all_q],
                )
                found = [row[0] for row in cursor.fetchall()]
                hits = [doc for doc in found if doc in relevant]
                recall.append(len(hits) / len(relevant))
                precision.append(len(hits) / len(found) if found else 0.0)
                first = next(
                    (i for i, doc in enumerate(found) if doc in relevant), None
                )
                mrr.append(0.0 if first is None else 1 / (first + 1))
            cursor.execute("DROP TABLE eval_docs")
            n = len(LABELLED)
            results[name] = (sum(recall) / n, sum(precision) / n, sum(mrr) / n)
        transaction.set_rollback(True)

    print(f"{len(LABELLED)} labelled queries over {len(docs)} demo posts\n")
    print(f"{'method':<24} {'recall@5':>9} {'prec@5':>8} {'MRR':>6}")
    for name, (r, p, m) in results.items():
        print(f"{name:<24} {r:>9.3f} {p:>8.3f} {m:>6.3f}")


if __name__ == "__main__":
    main()
