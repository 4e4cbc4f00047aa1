"""Time blog.markdown.render on a realistic 20 KB technical post and the demo posts.

Run from the project root: .venv/bin/python bench/bench_render.py [--runs 50]
The budget for the synthetic post is 50 ms per render (issue 3).
"""

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_MS = 50
FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)

CODE_SAMPLES = [
    (
        "python",
        """import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP


def train(rank: int, world_size: int) -> None:
    dist.init_process_group("nccl", rank=rank, world_size=world_size)
    model = DDP(build_model().to(rank), device_ids=[rank])
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
    for step, (x, y) in enumerate(loader):
        loss = torch.nn.functional.cross_entropy(model(x.to(rank)), y.to(rank))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % 100 == 0 and rank == 0:
            print(f"step {step}: loss={loss.item():.4f}")
""",
    ),
    (
        "bash",
        """#!/usr/bin/env bash
set -euo pipefail
export CUDA_VISIBLE_DEVICES=0,1
for seed in 1 2 3; do
  torchrun --nproc_per_node=2 train.py --seed "$seed" --out "runs/$seed" \\
    | tee "logs/train-$seed.log"
done
echo "done: $HOME/runs"
""",
    ),
    (
        "javascript",
        """document.querySelectorAll("pre > code").forEach((code) => {
  const button = document.createElement("button");
  button.textContent = "Copy";
  button.addEventListener("click", async () => {
    await navigator.clipboard.writeText(code.innerText);
    button.textContent = "Copied";
    setTimeout(() => (button.textContent = "Copy"), 1500);
  });
  code.parentElement.before(button);
});
""",
    ),
    (
        "sql",
        """SELECT p.id, p.title, ts_rank(p.search, q) AS rank
FROM blog_post AS p, websearch_to_tsquery('simple', %s) AS q
WHERE p.search @@ q AND p.status = 'published'
ORDER BY rank DESC, p.published_at DESC
LIMIT 20;
""",
    ),
    (
        "rust",
        """fn softmax(xs: &[f32]) -> Vec<f32> {
    let max = xs.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = xs.iter().map(|x| (x - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}
""",
    ),
]

FORMULAS = [
    r"\mathcal{L}(\theta) = -\sum_{i=1}^{N} \log p_\theta(y_i \mid x_i)",
    r"\operatorname{softmax}(z)_j = \frac{e^{z_j}}{\sum_{k=1}^{K} e^{z_k}}",
    r"\nabla_\theta J(\theta) = \mathbb{E}_{\tau \sim \pi_\theta}\left[\sum_t "
    r"\nabla_\theta \log \pi_\theta(a_t \mid s_t) R(\tau)\right]",
    r"\mathrm{Attention}(Q, K, V) = \operatorname{softmax}\left("
    r"\frac{QK^\top}{\sqrt{d_k}}\right) V",
    r"\hat{y} = \sigma(w^\top x + b)",
]

PROSE_ZH = (
    "在大型语言模型中，幻觉通常指模型生成不实、虚构、不一致或无意义的内容。"
    "我们把问题聚焦在模型输出未被上下文或世界知识所支撑的情况，并讨论训练数据、"
    "解码策略与评测方法之间的关系。实践中，`temperature` 与 `top_p` 的设置会明显"
    "影响结果，详见 [官方文档](https://pytorch.org/docs/stable/) 与脚注[^{n}]。"
)
PROSE_EN = (
    "Gradient accumulation lets us train with an effective batch size larger than "
    "what fits in memory: we run several forward and backward passes, **sum** the "
    "gradients, and only then call `optimizer.step()`. The trade-off is wall-clock "
    "time, as discussed in [the notes](/posts/notes/) and on "
    "https://example.org/blog/accumulation."
)


def build_post(target_bytes: int = 20_000) -> str:
    """About 20 KB of Chinese and English prose, 10 code blocks and 20 formulas."""
    parts = ["# 分布式训练笔记\n"]
    for section in range(10):
        parts.append(f"\n## 第 {section + 1} 节：Section {section + 1}\n")
        parts.append(PROSE_ZH.replace("{n}", str(section + 1)) + "\n")
        # Distinct formulas, so the per-formula cache does not flatter cold runs.
        formula = FORMULAS[section % len(FORMULAS)] + f" + c_{{{section}}}"
        parts.append(
            f"\n其中 ${formula.split('=')[0].strip()}^{{({section})}}$ 是目标，"
            f"and the input is `x[{section}]`.\n"
        )
        parts.append(f"\n$$\n{formula}\n$$\n")
        lang, code = CODE_SAMPLES[section % len(CODE_SAMPLES)]
        parts.append(f"\n```{lang}\n{code}```\n")
        parts.append("\n- [x] 已完成 done\n- [ ] 待办 ~~todo~~\n\n")
        parts.append(PROSE_EN + "\n")
        if section % 3 == 0:
            parts.append("\n| 参数 | 值 | Note |\n|---|---:|---|\n")
            parts.append("| lr | 3e-4 | AdamW |\n| batch | 256 | 8 × 32 |\n")
    notes = "".join(f"\n[^{n}]: 参见第 {n} 节的讨论。\n" for n in range(1, 11))
    post = "".join(parts)
    while len(post.encode()) < target_bytes - len(notes.encode()):
        post += "\n" + PROSE_EN + "\n\n" + PROSE_ZH.replace("[^{n}]", "") + "\n"
    return post + notes


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    sys.path.insert(0, str(ROOT))
    from django.apps import apps

    if not apps.ready:
        import django

        django.setup()


def measure(render, text: str, runs: int, clear=None) -> dict[str, float]:
    """Milliseconds per render; `clear` empties the caches before each run."""
    render(text)
    times, cpu = [], []
    for _ in range(runs):
        if clear:
            clear()
        start, start_cpu = time.perf_counter(), time.process_time()
        render(text)
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    times.sort()
    return {
        "mean": statistics.fmean(times),
        "median": statistics.median(times),
        "p95": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
        "cpu": statistics.median(cpu),
    }


def report(name: str, size: int, stats: dict[str, float]) -> None:
    print(
        f"{name:40} {size / 1000:7.1f} KB  mean {stats['mean']:7.2f} ms  "
        f"median {stats['median']:7.2f} ms  p95 {stats['p95']:7.2f} ms  "
        f"(CPU median {stats['cpu']:6.2f} ms)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    setup_django()
    from blog.markdown import clear_caches, render

    post = build_post()
    rendered = render(post)
    print(
        f"synthetic post: {post.count('```') // 2} code blocks, "
        f"{rendered.html.count('<math')} formulas, {len(rendered.toc)} TOC entries, "
        f"{len(rendered.warnings)} warnings"
    )
    # Cold: the first save of a post. Warm: re-renders (preview while typing,
    # the same formulas and code again), served from the formula/code caches.
    stats = measure(render, post, args.runs, clear=clear_caches)
    report("synthetic 20 KB post, cold caches", len(post.encode()), stats)
    warm = measure(render, post, args.runs)
    report("synthetic 20 KB post, warm caches", len(post.encode()), warm)

    demo_dir = ROOT / "blog" / "demo_posts"
    demo_posts = sorted(demo_dir.glob("*.md")) if demo_dir.is_dir() else []
    if not demo_posts:
        print(f"(no demo posts in {demo_dir.relative_to(ROOT)})")
    for path in demo_posts:
        text = FRONT_MATTER.sub("", path.read_text(encoding="utf-8"))
        stats_demo = measure(render, text, args.runs, clear=clear_caches)
        report(path.name, len(text.encode()), stats_demo)

    over = stats["median"] > BUDGET_MS
    verdict = "OVER" if over else "ok"
    print(f"budget {BUDGET_MS} ms (cold median) for the synthetic post: {verdict}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
