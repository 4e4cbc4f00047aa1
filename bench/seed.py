"""Generate and bulk-load a realistic blog for the benchmark (used by bench/run.py).

Post.save() renders Markdown (tens of milliseconds a post), far too slow for 100,000
posts. Instead a pool of distinct bodies is rendered once through the app's own
Post.render(), and rows are bulk inserted with those stored fields. Bodies are 3-8 KB
of Markdown stitched from sections of the demo posts (Chinese and English prose, code,
math, tables, footnotes). The search vector is exactly what Post.update_search_vector
stores:

    setweight(to_tsvector(CONFIG, segment(title)), 'A')
      || setweight(to_tsvector(CONFIG, segment(summary + " " + body_text)), 'B')

and the title vector is to_tsvector(CONFIG, segment(title)), with blog.search.segment
applied in Python. Each pool body's 'B' half is computed once;
every row then only parses its own title. verify_sample() re-runs the app's
update_search_vector() on a few rows and checks the stored vectors did not change.

Needs Django set up (bench/run.py does it with the benchmark's environment).
"""

import itertools
import random
import re
import time
from datetime import timedelta
from pathlib import Path

from django.db import connection
from django.utils import timezone
from django.utils.text import slugify

ROOT = Path(__file__).resolve().parent.parent
DEMO_POSTS = ROOT / "blog" / "demo_posts"
POOL_SIZE = 160
BODY_MIN_BYTES = 3_000
BODY_MAX_BYTES = 8_000
YEARS = 10
DRAFT_SHARE = 0.02
SCHEDULED_SHARE = 0.005
CHINESE_SHARE = 0.6
INSERT_CHUNK = 10_000
# The most used tag is on about a fifth of the posts, the least used on 1 in 200.
TAG_ZIPF_EXPONENT = 0.7

EN_TAGS = [
    "Python",
    "PyTorch",
    "LLM",
    "Engineering",
    "CUDA",
    "PostgreSQL",
    "Django",
    "NumPy",
    "Rust",
    "Go",
    "JavaScript",
    "TypeScript",
    "Linux",
    "Docker",
    "Kubernetes",
    "Git",
    "SQL",
    "Redis",
    "Nginx",
    "Bash",
    "C++",
    "Java",
    "Kotlin",
    "Swift",
    "Haskell",
    "OCaml",
    "Scala",
    "Elixir",
    "Erlang",
    "Clojure",
    "Julia",
    "R",
    "MATLAB",
    "TensorFlow",
    "JAX",
    "Keras",
    "scikit-learn",
    "XGBoost",
    "LightGBM",
    "pandas",
    "Polars",
    "Spark",
    "Hadoop",
    "Kafka",
    "Flink",
    "Airflow",
    "dbt",
    "DuckDB",
    "SQLite",
    "MySQL",
    "MongoDB",
    "Cassandra",
    "Elasticsearch",
    "ClickHouse",
    "gRPC",
    "GraphQL",
    "REST",
    "HTTP",
    "TLS",
    "DNS",
    "TCP",
    "WebAssembly",
    "WebGPU",
    "Vulkan",
    "OpenGL",
    "LLVM",
    "GCC",
    "Compilers",
    "Algorithms",
    "Concurrency",
    "Performance",
    "Profiling",
    "Benchmarks",
    "Testing",
    "Security",
    "Cryptography",
    "Networking",
    "Observability",
    "Prometheus",
    "Grafana",
    "OpenTelemetry",
    "Emacs",
    "Vim",
    "macOS",
    "FreeBSD",
    "Embedded",
    "FPGA",
    "Verilog",
    "Statistics",
    "Probability",
    "Optimization",
    "NLP",
    "Transformers",
    "ONNX",
    "TensorRT",
    "Triton",
    "MLOps",
    "RAG",
    "Agents",
    "Tokenizers",
    "Embeddings",
    "Homelab",
]
EN_TAGS += [
    "Type Systems",
    "Data Structures",
    "Distributed Systems",
    "Linear Algebra",
    "Information Theory",
    "Reinforcement Learning",
    "Computer Vision",
    "Diffusion Models",
    "Graph Neural Networks",
    "Recommender Systems",
    "Time Series",
    "Bayesian Methods",
    "Hugging Face",
    "Prompt Engineering",
    "Vector Databases",
    "Book Notes",
    "Open Source",
    "Quantum Computing",
    "Raspberry Pi",
    "VS Code",
]
ZH_TAGS = [
    "机器学习",
    "深度学习",
    "自然语言处理",
    "计算机视觉",
    "强化学习",
    "大模型",
    "数据库",
    "分布式系统",
    "操作系统",
    "编译原理",
    "算法",
    "数据结构",
    "并发编程",
    "网络编程",
    "性能优化",
    "前端",
    "后端",
    "运维",
    "云原生",
    "微服务",
    "架构设计",
    "读书笔记",
    "面试",
    "数学",
    "线性代数",
    "概率论",
    "统计学",
    "最优化",
    "信息论",
    "数值计算",
    "图神经网络",
    "推荐系统",
    "搜索引擎",
    "中文分词",
    "知识图谱",
    "语音识别",
    "图像生成",
    "扩散模型",
    "对比学习",
    "知识蒸馏",
    "模型压缩",
    "模型量化",
    "混合专家",
    "注意力机制",
    "位置编码",
    "分词器",
    "向量检索",
    "检索增强生成",
    "智能体",
    "提示工程",
    "预训练",
    "微调",
    "对齐",
    "评测",
    "数据清洗",
    "特征工程",
    "时间序列",
    "异常检测",
    "因果推断",
    "贝叶斯方法",
    "生成模型",
    "变分推断",
    "采样方法",
    "蒙特卡洛",
    "图论",
    "动态规划",
    "字符串算法",
    "排序",
    "哈希",
    "缓存",
    "消息队列",
    "日志",
    "监控",
    "容器",
    "虚拟化",
    "安全",
    "密码学",
    "网络协议",
    "浏览器",
    "移动开发",
    "嵌入式",
    "硬件",
    "开源",
    "工具",
    "效率",
    "随笔",
    "生活",
    "旅行",
    "摄影",
    "翻译",
    "教程",
    "踩坑",
    "源码阅读",
    "论文笔记",
    "工程实践",
    "团队协作",
]
# The most used tags first: tag popularity falls off like Zipf's law.
POPULAR_FIRST = [
    "Python",
    "机器学习",
    "深度学习",
    "LLM",
    "PyTorch",
    "大模型",
    "Engineering",
]

EN_TOPICS = """attention|the KV cache|FlashAttention|LoRA|RLHF|PPO|DPO|BPE tokenization|
mixed precision training|gradient checkpointing|RoPE|beam search|vector search|
PostgreSQL full-text search|asyncio|Python decorators|NumPy broadcasting|CUDA kernels|
Docker images for ML|precision and recall|batch norm|layer norm|AdamW|knowledge distillation|
mixture of experts|quantization|retrieval-augmented generation|contrastive learning|
Chinese word segmentation|gradient descent|transformers|convolutions|Rust ownership|
Go channels|Kubernetes operators|Redis streams|SQLite|linear regression|Bayesian inference|
Markov chains|B-trees|consistent hashing|Raft|garbage collection|SIMD|memory allocators|
type inference|regular expressions|query planners|connection pooling""".replace(
    "\n", ""
).split("|")
EN_FORMS = [
    "Understanding {t}",
    "{t} explained",
    "Notes on {t}",
    "A practical guide to {t}",
    "{t} from scratch",
    "Debugging {t}",
    "{t} in production",
    "What I learned about {t}",
    "{t}: common pitfalls",
    "Benchmarking {t}",
    "Revisiting {t}",
    "{t} under the hood",
    "Ten lessons on {t}",
    "Why {t} matters",
]
EN_QUALIFIERS = [
    "",
    " with PyTorch",
    " in Rust",
    " on a single GPU",
    " at scale",
    " in 200 lines",
    " for Django developers",
    " on a laptop",
    ", revisited",
    " with PostgreSQL",
]
ZH_TOPICS = """注意力机制|KV 缓存|大模型幻觉|分布式训练|混合精度训练|梯度检查点|旋转位置编码|束搜索|向量检索|
全文检索|异步编程|Python 装饰器|NumPy 广播|CUDA 编程|容器化部署|分类指标|批归一化|层归一化|知识蒸馏|
混合专家模型|模型量化|检索增强生成|对比学习|中文分词|梯度下降|卷积神经网络|强化学习|推荐系统|数据库索引|
缓存一致性|并发控制|一致性哈希|垃圾回收|内存分配器|类型推断|正则表达式|查询优化器|连接池|词向量|
损失函数|学习率调度|数据并行|模型并行|流水线并行|算子融合|显存优化|推理加速|提示工程|智能体""".replace(
    "\n", ""
).split("|")
ZH_FORMS = [
    "深入理解{t}",
    "{t}详解",
    "{t}入门",
    "{t}实践笔记",
    "从零实现{t}",
    "{t}的常见误区",
    "再谈{t}",
    "{t}原理与实现",
    "聊聊{t}",
    "{t}性能优化",
    "{t}踩坑记录",
    "图解{t}",
]
ZH_QUALIFIERS = [
    "",
    "：以 PyTorch 为例",
    "（上）",
    "（下）",
    "：从论文到代码",
    "：一次线上排查",
    "：读书笔记",
    "的数学推导",
]
AUTHORS = [
    ("lin", "林晓", 5),
    ("alice", "Alice Chen", 3),
    ("bob", "Bob Martin", 2),
]


def rendered_fields() -> tuple[str, ...]:
    """The Post fields that Post.render() computes from the body."""
    from blog import models

    named = getattr(models, "RENDERED_FIELDS", None) or getattr(
        models.Post, "RENDERED_FIELDS", None
    )
    if named:
        return tuple(named)
    skip = {"id", "search_vector", "title_search_vector", "created_at", "updated_at"}
    return tuple(
        f.name
        for f in models.Post._meta.concrete_fields
        if not f.editable and f.name not in skip
    )


# Corpus --------------------------------------------------------------------------


def _demo_sections() -> dict[str, list[tuple[str, list[str]]]]:
    """{"zh"|"en": [(intro, [sections])]} from the demo posts' Markdown."""
    by_language: dict[str, list[tuple[str, list[str]]]] = {"zh": [], "en": []}
    for path in sorted(DEMO_POSTS.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        if text.startswith("---\n"):
            text = text[4:].split("\n---\n", 1)[1]
        parts = re.split(r"(?m)^(?=## )", text.strip())
        intro, sections = parts[0].strip(), [p.strip() for p in parts[1:]]
        cjk = len(re.findall(r"[\u4e00-\u9fff]", text))
        words = len(re.findall(r"[A-Za-z]+", text))
        by_language["zh" if cjk > words else "en"].append((intro, sections))
    if not by_language["zh"] or not by_language["en"]:
        raise RuntimeError(f"{DEMO_POSTS} needs both Chinese and English posts")
    return by_language


def generate_bodies(count: int, rng: random.Random) -> list[str]:
    """Distinct Markdown bodies of 3-8 KB: an intro, then sections, one language."""
    corpus = _demo_sections()
    bodies: list[str] = []
    seen: set[str] = set()
    while len(bodies) < count:
        language = "zh" if rng.random() < CHINESE_SHARE else "en"
        posts = corpus[language]
        intro, _ = posts[len(bodies) % len(posts)]
        target = rng.randint(BODY_MIN_BYTES, BODY_MAX_BYTES)
        pieces = [intro]
        size = len(intro.encode())
        sections = [s for _, post_sections in posts for s in post_sections]
        rng.shuffle(sections)
        for section in sections:
            grown = size + len(section.encode()) + 2
            if grown > BODY_MAX_BYTES:
                continue
            pieces.append(section)
            size = grown
            if size >= target:
                break
        body = "\n\n".join(pieces) + "\n"
        if size >= BODY_MIN_BYTES and body not in seen:
            seen.add(body)
            bodies.append(body)
    return bodies


def render_pool(bodies: list[str], log) -> list[dict]:
    """Each body through the app's own Post.render(), plus its segmented search text."""
    from blog import search
    from blog.models import Post

    started = time.perf_counter()
    pool = []
    for body in bodies:
        post = Post(title="", body=body, summary="", language="")
        post.render()
        fields = {name: getattr(post, name) for name in rendered_fields()}
        fields["body"] = body
        fields["summary"] = ""
        fields["language"] = ""
        fields["segmented_body"] = search.segment(f"{post.summary} {post.body_text}")
        pool.append(fields)
    seconds = time.perf_counter() - started
    sizes = sorted(len(b.encode()) for b in bodies)
    log(
        f"rendered {len(pool)} distinct bodies in {seconds:.1f} s "
        f"({seconds / len(pool) * 1000:.0f} ms each; Markdown {sizes[0]}-{sizes[-1]} "
        f"bytes, median {sizes[len(sizes) // 2]}; "
        f"{sum(p['detected_language'] == 'zh-hans' for p in pool)} Chinese)"
    )
    return pool


def _titles(rng: random.Random):
    """Endless unique titles, Chinese or English, as series once combinations run out."""
    used: dict[str, int] = {}
    while True:
        if rng.random() < CHINESE_SHARE:
            base = rng.choice(ZH_FORMS).format(t=rng.choice(ZH_TOPICS))
            base += rng.choice(ZH_QUALIFIERS)
            language = "zh"
        else:
            base = rng.choice(EN_FORMS).format(t=rng.choice(EN_TOPICS))
            base = base[0].upper() + base[1:] + rng.choice(EN_QUALIFIERS)
            language = "en"
        n = used.get(base, 0) + 1
        used[base] = n
        if n == 1:
            yield language, base
        elif language == "zh":
            yield language, f"{base}（{n}）"
        else:
            yield language, f"{base} (part {n})"


# Loading ---------------------------------------------------------------------------


class Seeder:
    def __init__(self, log, seed: int = 20260101):
        self.log = log
        self.rng = random.Random(seed)
        self.titles = _titles(self.rng)
        self.slugs: set[str] = set()
        self.pool: list[dict] = []
        self.tag_ids: list[int] = []
        self.tag_weights: list[float] = []
        self.author_ids: list[int] = []
        self.author_weights: list[int] = []
        self.now = timezone.now()

    def prepare(self) -> None:
        """Authors, tags and the rendered pool (the slow part happens only here)."""
        from django.contrib.auth import get_user_model

        from blog.models import Tag

        started = time.perf_counter()
        User = get_user_model()
        for username, display_name, weight in AUTHORS:
            user, _ = User.objects.get_or_create(
                username=username,
                defaults={"display_name": display_name, "bio": "Writes about code."},
            )
            if user.has_usable_password():
                user.set_unusable_password()
                user.save(update_fields=["password"])
            self.author_ids.append(user.pk)
            self.author_weights.append(weight)
        names = list(dict.fromkeys([*POPULAR_FIRST, *EN_TAGS, *ZH_TAGS]))
        head, tail = names[: len(POPULAR_FIRST)], names[len(POPULAR_FIRST) :]
        self.rng.shuffle(tail)
        for rank, name in enumerate(head + tail, 1):
            tag, _ = Tag.objects.get_or_create(name=name)
            self.tag_ids.append(tag.pk)
            self.tag_weights.append(rank**-TAG_ZIPF_EXPONENT)
        self.log(
            f"{len(self.author_ids)} authors, {len(self.tag_ids)} tags "
            f"in {time.perf_counter() - started:.1f} s"
        )
        self.pool = render_pool(generate_bodies(POOL_SIZE, self.rng), self.log)
        with connection.cursor() as cursor:
            cursor.execute("SELECT slug FROM blog_post")
            self.slugs.update(slug for (slug,) in cursor.fetchall())

    def _slug(self, title: str) -> str:
        base = slugify(title, allow_unicode=True)[:192].strip("-") or "post"
        slug, n = base, 2
        while slug in self.slugs:
            slug, n = f"{base}-{n}", n + 1
        self.slugs.add(slug)
        return slug

    def _rows(self, count: int, first_id: int):
        """(post rows, tag rows) for `count` new posts; ids ascend with dates."""
        from blog import search

        rng, now = self.rng, self.now
        author_cum = list(itertools.accumulate(self.author_weights))
        tag_cum = list(itertools.accumulate(self.tag_weights))
        span = YEARS * 365 * 86400
        dates = sorted(
            now - timedelta(seconds=rng.uniform(0, span)) for _ in range(count)
        )
        posts, tags = [], []
        pool_by_language = {
            lang: [i for i, p in enumerate(self.pool) if p["detected_language"] == lang]
            for lang in ("zh-hans", "en")
        }
        for offset, published_at in enumerate(dates):
            post_id = first_id + offset
            language, title = next(self.titles)
            pool_ids = pool_by_language["zh-hans" if language == "zh" else "en"]
            pool_idx = rng.choice(pool_ids or range(len(self.pool)))
            roll = rng.random()
            status = "published"
            if roll < DRAFT_SHARE:
                status = "draft"
            elif roll < DRAFT_SHARE + SCHEDULED_SHARE:
                published_at = now + timedelta(seconds=rng.uniform(86400, 60 * 86400))
            created_at = min(published_at, now) - timedelta(
                seconds=rng.uniform(600, 7 * 86400)
            )
            updated_at = published_at
            if rng.random() < 0.2 and published_at < now:
                updated_at = published_at + (now - published_at) * rng.random()
            posts.append(
                (
                    post_id,
                    title,
                    self._slug(title),
                    search.segment(title),
                    rng.choices(self.author_ids, cum_weights=author_cum)[0],
                    status,
                    published_at,
                    created_at,
                    updated_at,
                    pool_idx,
                )
            )
            wanted = rng.choices((2, 3, 4), (3, 4, 3))[0]
            chosen: list[int] = []
            while len(chosen) < wanted:
                tag_id = rng.choices(self.tag_ids, cum_weights=tag_cum)[0]
                if tag_id not in chosen:
                    chosen.append(tag_id)
            tags.extend((post_id, tag_id) for tag_id in chosen)
        return posts, tags

    def load(self, count: int) -> dict:
        """Insert `count` more posts; return timings in seconds."""
        from blog import search
        from blog.models import Post

        timings: dict[str, float] = {}
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("SELECT COALESCE(max(id), 0) FROM blog_post")
            first_id = cursor.fetchone()[0] + 1
        posts, tags = self._rows(count, first_id)
        timings["generate"] = time.perf_counter() - started

        step = time.perf_counter()
        with connection.cursor() as cursor:
            self._stage(cursor.cursor, posts, search.CONFIG)
        timings["stage"] = time.perf_counter() - step

        # Columns a newer Post model may have added get their model default.
        known = {
            "id", "title", "slug", "author_id", "status", "published_at",
            "created_at", "updated_at", "search_vector", "title_search_vector", "body",
            "summary", "language", *rendered_fields(),
        }  # fmt: skip
        extra = [f for f in Post._meta.concrete_fields if f.column not in known]
        pool_columns = ["body", "summary", "language", *rendered_fields()]
        columns = [
            "id", "title", "slug", "author_id", "status", "published_at",
            "created_at", "updated_at", *pool_columns, "search_vector",
            "title_search_vector", *(f.column for f in extra),
        ]  # fmt: skip
        select = [
            *(f"n.{c}" for c in columns[:8]),
            *(f"p.{c}" for c in pool_columns),
            "setweight(to_tsvector(%s::regconfig, n.title_seg), 'A') || p.body_vec",
            "to_tsvector(%s::regconfig, n.title_seg)",
            *("%s" for _ in extra),
        ]
        defaults = [f.get_db_prep_save(f.get_default(), connection) for f in extra]
        insert = (
            f"INSERT INTO blog_post ({', '.join(columns)}) "
            f"SELECT {', '.join(select)} FROM bench_new n "
            "JOIN bench_pool p ON p.idx = n.pool_idx WHERE n.id BETWEEN %s AND %s"
        )
        step = time.perf_counter()
        last_id = first_id + count - 1
        with connection.cursor() as cursor:
            # Building a GIN index once is many times faster than growing it row by
            # row: drop the model's GIN indexes and recreate them exactly as they were.
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE tablename = 'blog_post' AND indexdef LIKE '%%USING gin%%'"
            )
            gin_indexes = cursor.fetchall()
            for name, _ in gin_indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            for low in range(first_id, last_id + 1, INSERT_CHUNK):
                high = min(low + INSERT_CHUNK - 1, last_id)
                cursor.execute(
                    insert, [search.CONFIG, search.CONFIG, *defaults, low, high]
                )
            with cursor.cursor.copy(
                "COPY blog_post_tags (post_id, tag_id) FROM STDIN"
            ) as copy:
                for row in tags:
                    copy.write_row(row)
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('blog_post', 'id'), "
                "(SELECT max(id) FROM blog_post))"
            )
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('blog_post_tags', 'id'), "
                "(SELECT max(id) FROM blog_post_tags))"
            )
            cursor.execute("DROP TABLE bench_new")
            timings["insert"] = time.perf_counter() - step
            step = time.perf_counter()
            cursor.execute("SET maintenance_work_mem = '1GB'")
            for _, definition in gin_indexes:
                cursor.execute(definition)
            cursor.execute("RESET maintenance_work_mem")
        timings["gin_index"] = time.perf_counter() - step

        step = time.perf_counter()
        with connection.cursor() as cursor:
            # Visibility map and statistics, so index-only scans and good plans work.
            cursor.execute(
                "VACUUM (ANALYZE) blog_post, blog_post_tags, blog_tag, blog_post_related"
            )
        timings["vacuum_analyze"] = time.perf_counter() - step
        timings["total"] = time.perf_counter() - started
        self.log(
            f"inserted {count:,} posts and {len(tags):,} post-tag rows: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
        )
        return timings

    def _stage(self, cursor, posts: list[tuple], config: str) -> None:
        """The pool (with its search-vector half) and the new rows, in temp tables."""
        from psycopg.types.json import Jsonb

        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS bench_pool (idx int PRIMARY KEY, "
            "body text, summary text, language text, body_html text, body_text text, "
            "excerpt text, toc jsonb, reading_minutes int, detected_language text, "
            "renderer_version int, body_vec tsvector)"
        )
        cursor.execute("SELECT count(*) FROM bench_pool")
        if cursor.fetchone()[0] == 0:
            cursor.executemany(
                "INSERT INTO bench_pool VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, "
                "%s, %s, setweight(to_tsvector(%s::regconfig, %s), 'B'))",
                [
                    (
                        idx,
                        p["body"],
                        p["summary"],
                        p["language"],
                        p["body_html"],
                        p["body_text"],
                        p["excerpt"],
                        Jsonb(p["toc"]),
                        p["reading_minutes"],
                        p["detected_language"],
                        p["renderer_version"],
                        config,
                        p["segmented_body"],
                    )  # fmt: skip
                    for idx, p in enumerate(self.pool)
                ],
            )
        cursor.execute(
            "CREATE TEMP TABLE bench_new (id bigint PRIMARY KEY, title text, slug text, "
            "title_seg text, author_id bigint, status text, published_at timestamptz, "
            "created_at timestamptz, updated_at timestamptz, pool_idx int)"
        )
        with cursor.copy("COPY bench_new FROM STDIN") as copy:
            for row in posts:
                copy.write_row(row)

    def verify_sample(self, size: int = 3) -> str:
        """Re-run the app's own update_search_vector() on a few rows: nothing changes."""
        from blog.models import SEARCH_FIELDS, Post

        ids = list(Post.objects.order_by("?").values_list("pk", flat=True)[:size])
        mismatched = []
        for post in Post.objects.filter(pk__in=ids):
            before = Post.objects.filter(pk=post.pk).values_list(*SEARCH_FIELDS)[0]
            post.update_search_vector()
            after = Post.objects.filter(pk=post.pk).values_list(*SEARCH_FIELDS)[0]
            if before != after:
                mismatched.append(post.pk)
        if mismatched:
            raise RuntimeError(
                f"bulk-loaded search fields differ from Post.update_search_vector() "
                f"for posts {mismatched}: bench/seed.py is out of date with the model"
            )
        return (
            f"{', '.join(SEARCH_FIELDS)} of {len(ids)} random posts match "
            "update_search_vector()"
        )
