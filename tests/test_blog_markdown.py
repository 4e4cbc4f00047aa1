"""blog.markdown: what each Markdown construct renders to, and the derived fields."""

import re
import time

import pytest

from blog import markdown
from blog.markdown import (
    MAX_SOURCE_CHARS,
    Rendered,
    detect_language,
    excerpt,
    markdownify,
    plain_text,
    reading_minutes,
    render,
)

# Code -------------------------------------------------------------------------


def test_python_code_is_highlighted_with_css_classes():
    html = render("```python\ndef f(x):\n    return x  # note\n```").html
    assert html.startswith(
        '<div class="code-block" data-lang="python"><div class="code-lang">python</div>'
        '<pre class="highlight" tabindex="0"><code><span class="k">def</span>'
    )
    assert '<span class="nf">f</span>' in html
    assert '<span class="c1"># note</span>' in html
    assert html.rstrip().endswith("</code></pre></div>")
    assert html.count("<pre") == 1


def test_bash_and_javascript_blocks_are_highlighted():
    bash = render('```bash\necho "$HOME"\n```').html
    assert 'data-lang="bash"' in bash
    assert '<span class="nb">echo</span>' in bash
    assert "$HOME" in bash
    js = render("```js\nconst x = 1;\n```").html
    assert 'data-lang="js"' in js
    assert '<span class="kd">const</span>' in js


def test_unknown_language_falls_back_to_escaped_text():
    rendered = render("```foobar\nif a < b && c:\n```")
    assert rendered.html == (
        '<div class="code-block" data-lang="foobar"><div class="code-lang">foobar</div>'
        '<pre class="highlight" tabindex="0"><code>if a &lt; b &amp;&amp; c:</code>'
        "</pre></div>\n"
    )
    assert rendered.warnings == []


def test_code_without_language_is_plain_and_unlabelled():
    for source in ("```\nx = <1>\n```", "    x = <1>"):
        assert render(source).html == (
            '<div class="code-block"><pre class="highlight" tabindex="0">'
            "<code>x = &lt;1&gt;</code></pre></div>\n"
        )


def test_inline_code_is_escaped():
    assert render("`<b>`").html == "<p><code>&lt;b&gt;</code></p>\n"


# Math -------------------------------------------------------------------------


def test_inline_dollar_math_becomes_inline_mathml():
    html = render("Let $x^2$ be").html
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">' in html
    assert "<msup><mi>x</mi><mn>2</mn></msup>" in html
    assert '<annotation encoding="application/x-tex">x^2</annotation>' in html
    assert html.startswith("<p>Let <math")


def test_inline_paren_math_becomes_inline_mathml():
    html = render(r"Let \(\alpha + 1\) be").html
    assert 'display="inline"' in html
    assert "<mi>α</mi>" in html
    assert r"\(" not in html


@pytest.mark.parametrize(
    "source",
    [
        "$$\n\\frac{a}{b}\n$$",
        "$$\\frac{a}{b}$$",
        "\\[\n\\frac{a}{b}\n\\]",
        "\\[\\frac{a}{b}\\]",
        "```math\n\\frac{a}{b}\n```",
    ],
)
def test_display_math_becomes_block_mathml(source):
    html = render(source).html
    assert html.startswith('<div class="math-display" tabindex="0"><math ')
    assert 'display="block"' in html
    assert "<mfrac><mrow><mi>a</mi></mrow><mrow><mi>b</mi></mrow></mfrac>" in html


@pytest.mark.parametrize(
    "environment",
    [
        "\\begin{aligned} f(x) &= (a+b)^2 \\\\ &= a^2 + 2ab + b^2 \\end{aligned}",
        "\\begin{aligned}[t] a &= b & c &= d \\\\ e &= f & g &= h \\end{aligned}",
        "\\begin{alignedat}{2} a &= b & c &= d \\\\ e &= f & g &= h \\end{alignedat}",
        "\\begin{gathered} \\frac{a}{b} \\\\ c + d \\end{gathered}",
        "\\begin{gather*} x \\\\ y \\end{gather*}",
        "\\begin{gathered} \\frac{1}{2} \\\\ \\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix} \\end{gathered}",
    ],
)
def test_multiline_environments_are_set_in_rows(environment):
    # latex2mathml does not know these: their rows came out on one line, with the
    # "&"s shown and no warning.
    rendered = render(f"$$\n{environment}\n$$")
    math = rendered.html.split("<annotation")[0]
    assert rendered.warnings == []
    # Two rows, and a pmatrix's two inside the second.
    assert math.count("<mtr>") == (4 if "pmatrix" in environment else 2)
    assert "<mi>&amp;</mi>" not in math and "linebreak" not in math


def test_gathered_rows_are_in_display_style():
    math = render("$$\\begin{gathered} \\frac{a}{b} \\\\ c \\end{gathered}$$").html
    assert math.count('<mstyle displaystyle="true" scriptlevel="0"><mfrac>') == 1


def test_stray_alignment_outside_an_environment_is_flagged():
    rendered = render("$$ a &= b \\\\ c &= d $$")
    assert rendered.warnings == [
        "& and \\\\ only align and break lines inside an environment such as "
        "aligned, cases or matrix: a &= b \\\\ c &= d"
    ]


def test_bracket_math_can_interrupt_a_paragraph():
    html = render("So:\n\\[\nE = mc^2\n\\]\nand more.").html
    assert html.startswith('<p>So:</p>\n<div class="math-display"')
    assert "<p>and more.</p>" in html


def test_double_dollars_inside_a_paragraph_are_display_math():
    html = render("Energy $$E = mc^2$$ holds.").html
    assert '<span class="math-display"><math' in html
    assert 'display="block"' in html


def test_escaped_brackets_mid_line_are_not_math():
    assert render(r"See \[1\] and \(not closed").html == (
        "<p>See [1] and (not closed</p>\n"
    )


@pytest.mark.parametrize(
    "source",
    [
        "It costs $5 and $10.",
        "Between $5-$10 today",
        "Pay $ 5 and $ 6",
        "A lone $ sign",
        r"Escaped \$x\$ stays",
    ],
)
def test_dollars_that_are_not_math_stay_dollars(source):
    html = render(source).html
    assert "<math" not in html
    assert "$" in html


def test_dollars_in_code_stay_literal():
    html = render("Run `echo $HOME` then\n\n```bash\necho $PATH $HOME\n```").html
    assert "<math" not in html
    assert "<code>echo $HOME</code>" in html
    assert "$PATH" in html


def test_bad_tex_shows_source_and_warns():
    rendered = render("Bad $\\frac{$ here\n\n$$\n\\frac{a}{\n$$")
    assert '<code class="math-error">\\frac{</code>' in rendered.html
    assert '<pre class="math-error">\\frac{a}{</pre>' in rendered.html
    assert len(rendered.warnings) == 2
    assert all("Could not render formula" in w for w in rendered.warnings)


def test_overlong_formula_is_not_converted():
    tex = "x+" * 3000 + "x"
    rendered = render(f"$${tex}$$")
    assert '<pre class="math-error">' in rendered.html
    assert "longer than 5000 characters" in rendered.warnings[0]


def test_unsupported_tex_command_renders_with_a_warning():
    rendered = render("$\\notacommand{x}$")
    assert "<math" in rendered.html
    assert rendered.warnings == [
        "Unsupported TeX command \\notacommand in: \\notacommand{x}"
    ]


def test_repeated_bad_formula_warns_once():
    assert len(render("$\\frac{$ and $\\frac{$").warnings) == 1


# Block constructs ---------------------------------------------------------------


def test_tables_are_wrapped_for_horizontal_scrolling():
    html = render("| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |").html
    assert html == (
        '<div class="table-wrap" tabindex="0"><table>\n<thead>\n<tr>\n'
        '<th class="align-left">a</th>\n<th class="align-center">b</th>\n'
        '<th class="align-right">c</th>\n'
        "</tr>\n</thead>\n<tbody>\n<tr>\n"
        '<td class="align-left">1</td>\n<td class="align-center">2</td>\n'
        '<td class="align-right">3</td>\n'
        "</tr>\n</tbody>\n</table></div>\n"
    )


def test_column_alignment_is_a_class_not_an_inline_style():
    # The CSP (style-src 'self') would block style="text-align:…" in the browser.
    html = render("| a | b |\n|---|--:|\n| 1 | 2 |").html
    assert "style=" not in html
    assert "<th>a</th>" in html and '<td class="align-right">2</td>' in html


def test_footnotes_link_both_ways():
    html = render("Claim[^a].\n\n[^a]: Source **here**.").html
    assert '<sup class="footnote-ref"><a href="#fn1" id="fnref1">[1]</a></sup>' in html
    assert '<section class="footnotes" role="doc-endnotes">' in html
    assert '<li id="fn1" class="footnote-item"><p>Source <strong>here</strong>.' in html
    assert '<a href="#fnref1" class="footnote-backref">' in html


def test_task_lists_render_disabled_checkboxes():
    html = render("- [ ] todo\n- [x] done").html
    assert html == (
        '<ul class="contains-task-list">\n'
        '<li class="task-list-item"><input class="task-list-item-checkbox" '
        'disabled="" type="checkbox" aria-label="todo"> todo</li>\n'
        '<li class="task-list-item"><input class="task-list-item-checkbox" '
        'disabled="" type="checkbox" checked="" aria-label="done"> done</li>\n</ul>\n'
    )


def test_strikethrough_needs_double_tildes():
    assert render("~~gone~~ and 3~5 days").html == ("<p><s>gone</s> and 3~5 days</p>\n")


def test_blockquotes_lists_and_emphasis():
    html = render("> *quote*\n\n1. one\n2. **two**").html
    assert "<blockquote>\n<p><em>quote</em></p>\n</blockquote>" in html
    assert "<ol>\n<li>one</li>\n<li><strong>two</strong></li>\n</ol>" in html


# Headings and TOC -------------------------------------------------------------


def test_chinese_headings_keep_chinese_ids():
    rendered = render("## 幻觉的分类")
    assert rendered.html == (
        '<h2 id="幻觉的分类">幻觉的分类&nbsp;<a class="heading-anchor" href="#幻觉的分类" '
        'aria-hidden="true" tabindex="-1">#</a></h2>\n'
    )
    assert rendered.toc == [{"level": 2, "id": "幻觉的分类", "title": "幻觉的分类"}]


def test_duplicate_headings_get_numbered_ids():
    rendered = render("## Setup\n\n## Setup\n\n### Setup\n\n## Setup-2")
    ids = [entry["id"] for entry in rendered.toc]
    assert ids == ["setup", "setup-2", "setup-3", "setup-2-2"]
    assert len(set(ids)) == len(ids)


def test_toc_has_levels_two_to_four_only():
    rendered = render("# One\n\n## Two\n\n### Three\n\n#### Four\n\n##### Five")
    # "# One" is demoted: the page title is the article's only <h1>.
    assert [entry["level"] for entry in rendered.toc] == [2, 2, 3, 4]
    assert "<h1" not in rendered.html
    assert 'id="five"' in rendered.html
    assert 'id="one"' in rendered.html


def test_heading_ids_are_slugs_of_the_plain_title():
    rendered = render("## Hello, *World*! `code` (v2.0)\n\n## 1. 从 GBDT 到 XGBoost")
    assert rendered.toc == [
        {
            "level": 2,
            "id": "hello-world-code-v20",
            "title": "Hello, World! code (v2.0)",
        },
        {"level": 2, "id": "1-从-gbdt-到-xgboost", "title": "1. 从 GBDT 到 XGBoost"},
    ]


def test_contents_show_a_heading_formula_rendered_not_as_tex():
    rendered = render("## The $\\mathcal{L}$ loss of `fit()` <i>\n\n## Plain")
    formula, plain = rendered.toc
    assert formula["title"] == "The \\mathcal{L} loss of fit() <i>"
    assert formula["html"].startswith(
        'The <math xmlns="http://www.w3.org/1998/Math/MathML"'
    )
    assert "<mi>ℒ</mi>" in formula["html"]
    assert formula["html"].endswith(" loss of <code>fit()</code> &lt;i&gt;")
    assert "html" not in plain
    assert rendered.warnings == []


def test_heading_ids_never_collide_with_footnote_ids():
    rendered = render("## fn1\n\nx[^1]\n\n[^1]: note")
    assert rendered.toc[0]["id"] == "fn1-2"
    assert rendered.html.count('id="fn1"') == 1


def test_heading_ids_never_collide_with_the_pages_own_ids():
    rendered = render("# Main\n\n## Search Q\n\n## Related title")
    assert [entry["id"] for entry in rendered.toc] == [
        "main-2",
        "search-q-2",
        "related-title-2",
    ]


def test_empty_heading_gets_a_fallback_id():
    assert render("## !!!").toc[0]["id"] == "section"


# Links and images -------------------------------------------------------------


def test_autolinks_bare_urls_www_and_email():
    html = render("See https://example.com/a, www.example.org and me@example.com.").html
    assert '<a href="https://example.com/a" rel="noopener noreferrer nofollow">' in html
    assert '<a href="http://www.example.org" rel=' in html
    assert '<a href="mailto:me@example.com">me@example.com</a>.' in html


def test_autolinks_stop_at_chinese_punctuation():
    html = render("访问 https://example.com/a。然后再说").html
    assert ">https://example.com/a</a>。然后再说" in html
    assert 'href="https://example.com/a"' in html


def test_angle_bracket_autolinks_still_work():
    assert 'href="https://a.example/b"' in render("<https://a.example/b>").html


def test_external_links_get_rel_internal_links_do_not(settings):
    settings.ALLOWED_HOSTS = ["blog.example.com", ".example.net"]
    html = render(
        "[a](https://other.org/x) [b](/posts/1/) [c](#top) [d](https://blog.example.com/p)"
        " [e](https://www.example.net/) [f](//cdn.other.org/x) [g](mailto:a@b.c)"
    ).html
    assert (
        '<a href="https://other.org/x" rel="noopener noreferrer nofollow">a</a>' in html
    )
    assert '<a href="/posts/1/">b</a>' in html
    assert '<a href="#top">c</a>' in html
    assert '<a href="https://blog.example.com/p">d</a>' in html
    assert '<a href="https://www.example.net/">e</a>' in html
    assert (
        '<a href="//cdn.other.org/x" rel="noopener noreferrer nofollow">f</a>' in html
    )
    assert '<a href="mailto:a@b.c">g</a>' in html


def test_external_link_rel_is_configurable(settings):
    settings.MARKDOWN_EXTERNAL_LINK_REL = "noopener"
    assert 'rel="noopener"' in render("[a](https://other.org/)").html
    settings.MARKDOWN_EXTERNAL_LINK_REL = ""
    assert "rel=" not in render("[a](https://other.org/)").html


def test_images_keep_alt_and_load_lazily():
    html = render('![A *cat* photo](/media/cat.png "Cat")').html
    assert html == (
        '<p><img src="/media/cat.png" alt="A cat photo" title="Cat" '
        'loading="lazy" decoding="async"></p>\n'
    )


def test_unsafe_link_schemes_are_not_links():
    html = render("[a](javascript:alert(1)) ![b](data:image/png;base64,AAAA)").html
    assert "<a " not in html
    assert "<img" not in html


# markdownify and plain_text ---------------------------------------------------


def test_markdownify_is_exactly_the_rendered_html_in_its_language():
    source = "# Hi\n\n$x$ and `code`"
    assert markdownify(source) == f'<div lang="en">{render(source).html}</div>'
    chinese = "## 幻觉\n\n模型会“一本正经地胡说八道”。"
    assert markdownify(chinese) == f'<div lang="zh-hans">{render(chinese).html}</div>'


def test_markdownify_puts_visible_warnings_before_the_html():
    source = "Bad $\\nope{<b>}$"
    rendered = render(source)
    preview = markdownify(source)
    warnings, rest = preview.split("\n", 1)
    assert warnings.startswith('<div class="render-warnings" role="alert"><ul><li>')
    assert "&lt;b&gt;" in warnings
    assert rest == f'<div lang="en">{rendered.html}</div>'


def test_plain_text_of_a_summary():
    assert plain_text("A **bold** summary with `code` and $x$.") == (
        "A bold summary with code and [formula]."
    )
    assert plain_text("中文**摘要**，含公式 $x$ 与代码：\n\n```\nx\n```") == (
        "中文摘要，含公式 [公式] 与代码： [代码]"
    )


# Excerpts ----------------------------------------------------------------------

ZH_SENTENCE = "大型语言模型中的幻觉通常指模型生成不实或虚构的内容。"  # 26 chars


def test_chinese_excerpt_is_about_120_characters_cut_after_a_sentence():
    text = "## 概述\n\n" + ZH_SENTENCE * 10
    result = render(text).excerpt
    assert result.startswith("概述 大型语言模型")
    assert result.endswith("内容……")
    assert 60 <= len(result) <= 122


def test_chinese_excerpt_without_punctuation_is_cut_at_120():
    result = excerpt("字" * 300, "zh-hans")
    assert result == "字" * 120 + "……"


def test_chinese_excerpt_never_cuts_a_marker():
    text = "字" * 117 + " [代码] " + "字" * 50
    assert excerpt(text, "zh-hans") == "字" * 117 + "……"


def test_short_excerpt_is_whole_text_without_ellipsis():
    assert render("短文。").excerpt == "短文。"
    assert render("A short post.").excerpt == "A short post."


def test_english_excerpt_is_50_words_at_a_word_boundary():
    words = " ".join(f"word{i}" for i in range(80))
    result = render(words).excerpt
    assert result == " ".join(f"word{i}" for i in range(50)) + "…"


def test_english_excerpt_prefers_a_sentence_end():
    text = " ".join(["alpha"] * 40) + ". " + " ".join(["beta"] * 40)
    assert render(text).excerpt == " ".join(["alpha"] * 40) + "…"


def test_excerpt_markers_for_code_and_formulas_follow_the_language():
    zh = render(
        "介绍分布式训练的基本原理和代码。\n\n```python\nx = 1\n```\n\n公式 $x$ 如下。"
    )
    assert zh.excerpt == "介绍分布式训练的基本原理和代码。 [代码] 公式 [公式] 如下。"
    en = render("Intro to training.\n\n```python\nx = 1\n```\n\nThe formula $x$ here.")
    assert en.excerpt == "Intro to training. [code] The formula [formula] here."


def test_excerpt_separates_headings_and_list_items_and_skips_footnotes():
    result = render(
        "# Title\n\n- one\n- two\n\nBody[^1].\n\n[^1]: Hidden note."
    ).excerpt
    assert result == "Title one two Body."


def test_mixed_chinese_post_with_english_terms_uses_character_excerpts():
    text = "在 PyTorch 中使用 DistributedDataParallel 训练模型。" * 8
    rendered = render(text)
    assert rendered.language == "zh-hans"
    assert rendered.excerpt.endswith("训练模型……")
    assert len(rendered.excerpt) <= 122


# Reading time -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "minutes"),
    [
        ("", 1),
        ("字" * 400, 1),
        ("字" * 4000, 10),
        (" ".join(["word"] * 2200), 10),
        ("字" * 2000 + " " + " ".join(["word"] * 1100), 10),
    ],
)
def test_reading_minutes_of_prose(source, minutes):
    assert render(source).reading_minutes == minutes


def test_code_counts_less_than_prose():
    line = "result = compute(alpha, beta, gamma, delta)"
    code = "```python\n" + "\n".join([line] * 300) + "\n```"
    as_code = render(code).reading_minutes
    as_prose = render("\n\n".join([line] * 300)).reading_minutes
    assert as_code == 5
    assert as_code < as_prose


def test_reading_minutes_helper_counts_formulas_and_images():
    assert reading_minutes("", formulas=40, images=6) == 3


# Language detection -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("在大型语言模型中，幻觉通常指模型生成不实的内容。", "zh-hans"),
        ("Hallucination is when a model makes things up.", "en"),
        ("使用 PyTorch 的 DistributedDataParallel 进行多卡训练", "zh-hans"),
        ("A post about 中文分词 and other English things here", "en"),
        ("", "en"),
    ],
)
def test_detect_language(text, language):
    assert detect_language(text) == language


def test_chinese_post_with_english_code_is_chinese():
    code = "```python\n" + "print('hello world from the english code')\n" * 50 + "```"
    assert render(f"这是一篇中文文章，代码如下：\n\n{code}").language == "zh-hans"


# Robustness ---------------------------------------------------------------------

PATHOLOGICAL = {
    "one megabyte": "word " * 200_000,
    "200 code blocks": "".join(f"```python\nx = {i}\n```\n\n" for i in range(200)),
    "10,000 nested lists": "- " * 10_000 + "x",
    "10,000 nested quotes": "> " * 10_000 + "x",
    "10,000 nested ordered lists": "1. " * 10_000 + "x",
    "32 KB of [": "[" * 32_768,
    "32 KB of [ and ]": "[" * 16_384 + "]" * 16_384,
    "unclosed fence": "```python\n" + "x = 1\n" * 20_000,
    "unclosed math": "$$\n" + "x + " * 20_000,
    "many unclosed parens": "\\(a " * 20_000,
    "many unclosed brackets": "\\[a\n" * 20_000,
    "nested braces in math": "$" + "{" * 2_000 + "x" + "}" * 2_000 + "$",
    "nested emphasis": "*" * 20_000 + "a" + "*" * 20_000,
    "many headings": "## same\n\n" * 5_000,
    "wide table": "|" + "a|" * 2_000 + "\n|" + "-|" * 2_000 + "\n" + "|x" * 2_000,
}


@pytest.mark.parametrize("name", PATHOLOGICAL)
def test_pathological_input_renders_in_bounded_time(name):
    start = time.process_time()
    rendered = render(PATHOLOGICAL[name])
    assert time.process_time() - start < 5
    assert isinstance(rendered, Rendered)
    assert rendered.html


def test_oversized_source_is_shown_escaped_with_a_warning():
    source = "<b>x</b> " * (MAX_SOURCE_CHARS // 9 + 1)
    assert len(source) > MAX_SOURCE_CHARS
    rendered = render(source)
    assert rendered.html.startswith('<pre class="source-fallback">&lt;b&gt;x&lt;/b&gt;')
    assert "more than the 200,000" in rendered.warnings[0]
    assert rendered.excerpt.endswith("…")
    assert rendered.toc == []


@pytest.mark.parametrize("source", ["\ud800", "a\udfffb", "\x00", "\r\n\r", "\ufeff"])
def test_odd_characters_never_raise(source):
    assert isinstance(render(source).html, str)
    assert isinstance(plain_text(source), str)


def test_lone_surrogates_are_replaced():
    assert render("a\ud800b").html == "<p>a\ufffdb</p>\n"


def test_none_renders_as_empty():
    assert render(None).html == ""


def test_failure_inside_the_renderer_falls_back_to_escaped_source(monkeypatch):
    def boom(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(markdown, "_assign_heading_ids", boom)
    rendered = render("# <title>")
    assert rendered.html == '<pre class="source-fallback"># &lt;title&gt;</pre>'
    assert rendered.warnings == [
        "This text could not be rendered; shown as plain text."
    ]


# Performance ------------------------------------------------------------------


def _technical_post() -> str:
    """About 20 KB: Chinese and English prose, 10 code blocks, 20 formulas."""
    code = (
        "def f(x):\n    return torch.softmax(x @ w.T / 8.0, dim=-1)  # attention\n" * 8
    )
    parts = []
    for i in range(10):
        parts.append(f"## 第 {i} 节 Section {i}\n\n")
        parts.append("在大型语言模型中，幻觉通常指模型生成不实或虚构的内容。" * 12)
        parts.append(f"\n\nSee [docs](https://example.org/{i}) and $x_{i}^2 + y$.\n\n")
        parts.append(
            f"$$\n\\sum_{{j=1}}^{{n}} \\frac{{e^{{z_j}}}}{{\\sqrt{{d_{i}}}}}\n$$\n\n"
        )
        parts.append(f"```python\n{code}```\n\n")
        parts.append("Gradient accumulation sums gradients over steps. " * 12 + "\n\n")
    return "".join(parts)


def test_a_20_kb_technical_post_renders_every_block():
    # Its speed is measured by `make bench-render`, not asserted in a timed test.
    post = _technical_post()
    assert 18_000 < len(post.encode()) < 30_000
    markdown.clear_caches()
    rendered = render(post)
    assert rendered.html.count("<math") == 20
    assert rendered.html.count('class="code-block"') == 10
    assert not rendered.warnings


# Emphasis next to Chinese ------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("**注意：**这里很重要。", "<strong>注意：</strong>这里很重要。"),
        ("这是**“重点”**内容。", "这是<strong>“重点”</strong>内容。"),
        (
            "使用**`torch.compile`**加速。",
            "使用<strong><code>torch.compile</code></strong>加速。",
        ),
        ("~~删除：~~保留", "<s>删除：</s>保留"),
        ("中_x_中", "中_x_中"),  # underscores still do not split a word
    ],
)
def test_emphasis_next_to_chinese_punctuation(source, expected):
    # CommonMark kept the asterisks: Chinese has no spaces to end a run after "：".
    assert render(source).html == f"<p>{expected}</p>\n"


@pytest.mark.parametrize(
    "source",
    ["**bold** text", "a**b**c", "2*3*4", "foo*bar*", "*(*foo*)*", "**foo (*bar*) foo**",
     "_foo_bar", "foo-_(bar)_", "*foo`*`", "**a** **b**", "__init__.py", "a * b * c"],
)  # fmt: skip
def test_emphasis_without_chinese_is_commonmarks(source):
    from markdown_it import MarkdownIt

    assert render(source).html == MarkdownIt("commonmark").render(source)


@pytest.mark.parametrize(
    ("source", "links", "after"),
    [
        ("详见https://arxiv.org/abs/1706.03762。", ["https://arxiv.org/abs/1706.03762"], "。"),
        ("链接：https://example.com/paper", ["https://example.com/paper"], ""),
        ("两个https://a.com和https://b.com。", ["https://a.com", "https://b.com"], "。"),
        ("维基https://zh.wikipedia.org/wiki/注意力", ["https://zh.wikipedia.org/wiki/%E6%B3%A8%E6%84%8F%E5%8A%9B"], ""),
        ("见https://example.com/f(x))。", ["https://example.com/f(x)"], ")。"),
        ("中文javascript://alert(1)", [], "中文javascript://alert(1)"),
        ("`代码https://a.com`", [], "</code>"),
        ("[见https://a.com](https://b.com)", ["https://b.com"], "</a>"),
    ],
)  # fmt: skip
def test_web_addresses_straight_after_chinese_are_links(source, links, after):
    # GFM links an address only after a space or punctuation: 详见https://… stayed text.
    html = render(source).html
    assert re.findall(r'href="([^"]+)"', html) == links
    assert html.rstrip().removesuffix("</p>").endswith(after)


def test_images_from_other_sites_become_links_with_a_warning(settings):
    # The CSP (img-src 'self' and the media storage) blocked them: readers saw a
    # broken image, and the preview said nothing.
    settings.SITE_URL = "https://blog.example"
    settings.MEDIA_ORIGINS = ["https://media.example"]
    rendered = render(
        "![A plot](https://other.example/plot.png)\n\n"
        "[![build](https://badges.example/b.svg)](https://ci.example/)\n\n"
        "![own](https://blog.example/media/a.png) ![stored](https://media.example/b.png)"
    )
    assert rendered.html.startswith(
        '<p><a href="https://other.example/plot.png" rel="noopener noreferrer nofollow">'
        "A plot</a></p>\n"
        '<p><a href="https://ci.example/" rel="noopener noreferrer nofollow">build</a></p>'
    )
    assert '<img src="https://blog.example/media/a.png"' in rendered.html
    assert '<img src="https://media.example/b.png"' in rendered.html
    assert [w.rsplit(": ", 1)[1] for w in rendered.warnings] == [
        "https://other.example/plot.png",
        "https://badges.example/b.svg",
    ]


def test_code_past_the_highlighting_budget_is_plain_and_flagged():
    block = "```python\n" + "x = 1\n" * 6_000 + "```\n\n"  # 36,000 characters
    rendered = render(block * 4)
    highlighted = rendered.html.count('<span class="n">x</span>')
    assert highlighted == 6_000 * 2  # two blocks within the 100,000
    assert rendered.warnings == [
        "Code past the first 100,000 characters of a post is shown without "
        "highlighting."
    ]


def test_markers_in_a_row_read_as_one_in_the_excerpt():
    # "Python [code] C++ and Rust [code] [code] [code]…" told a reader nothing.
    fence = "```{}\nx = 1\n```\n\n"
    source = "Python\n\n" + fence.format("py") + "C++ and Rust\n\n"
    source += "".join(fence.format(lang) for lang in ("c", "rust", "go"))
    source += "$$a$$\n\n$$b$$\n\nThen $x$ and $y$."
    assert render(source).excerpt == (
        "Python [code] C++ and Rust [code] [formula] Then [formula] and [formula]."
    )


@pytest.mark.parametrize(
    ("tex", "expected"),
    [
        ("\\boldsymbol{\\theta}", "<mi>𝜽</mi>"),
        ("\\bm{x}", "<mi>𝒙</mi>"),
        ("\\boldsymbol{\\Sigma}", "<mi>𝜮</mi>"),  # past ϴ in the block
        ("\\boldsymbol{\\Omega}", "<mi>𝜴</mi>"),
        ("\\mathit{h}", "<mi>ℎ</mi>"),
        ("\\mathbf{12}", "<mn>𝟏𝟐</mn>"),
        ("\\mathrm{d}x", '<mi mathvariant="normal">d</mi><mi>x</mi>'),
    ],
)
def test_bold_and_italic_math_use_the_unicode_math_letters(tex, expected):
    # Chrome and Firefox ignore mathvariant="bold-italic" and the like: a bold θ
    # came out plain, and \mathrm{d} in italics.
    html = render(f"${tex}$").html.split("<annotation")[0]
    assert expected in html
    assert 'mathvariant="bold' not in html and 'mathvariant="italic' not in html


@pytest.mark.parametrize("tex", ["\\frac{a}{b", "\\frac{1", "x^{2"])
def test_unbalanced_braces_are_flagged(tex):
    # latex2mathml guessed (a/b, or a lone 1) without a word to the author.
    assert render(f"${tex}$").warnings == [f"Unbalanced {{ and }} in: {tex}"]


def test_escaped_braces_are_not_counted():
    assert render("$\\{x \\mid x > 0\\}$ and $\\left\\{ x \\right.$").warnings == []


@pytest.mark.parametrize(
    "source",
    ["a:" * 20_000, "http:x " * 14_000, "中https://a.com/" * 10_000, "x@" * 20_000],
)
def test_autolinks_stay_linear_in_a_long_paragraph(source):
    # The autolink rules copied the rest of the paragraph at every ":" and "@":
    # 11 s for the first, 33 s for the second. Now about 0.1 s each; 3 s is slack
    # for any machine, and far below what a quadratic scan takes.
    started = time.perf_counter()
    render(source)
    assert time.perf_counter() - started < 3


def test_autolinks_of_every_kind_still_work_and_a_refused_scheme_keeps_its_text():
    html = render(
        "see https://example.com/a_(b), mailto:a@b.co, www.x.org, a@b.com and "
        "xmpp:a@b.co."
    ).html
    assert '<a href="https://example.com/a_(b)"' in html
    assert '<a href="mailto:a@b.co">mailto:a@b.co</a>' in html
    assert '<a href="http://www.x.org"' in html
    assert '<a href="mailto:a@b.com">a@b.com</a>' in html
    assert "and xmpp:a@b.co." in html  # not a link here, and not ":a@b.co"


def test_task_checkboxes_are_named_by_their_item_and_footnotes_are_endnotes():
    # axe: a checkbox without a name ("label", critical); a footnote section without
    # one.
    html = render("- [x] ship `v2`\n- [ ] write *docs*\n\nA[^1]\n\n[^1]: note").html
    assert 'type="checkbox" checked="" aria-label="ship v2">' in html
    assert 'type="checkbox" aria-label="write docs">' in html
    assert '<section class="footnotes" role="doc-endnotes">' in html


@pytest.mark.parametrize(
    ("tex", "expected"),
    [
        # Screen readers spelled out seven letters.
        (r"\mathrm{softmax}(x)", '<mi mathvariant="normal">softmax</mi>'),
        # As an operator, it kept a gap before "(".
        (r"\operatorname{softmax}(x)", "<mi>softmax</mi><mo>\u2061</mo><mo"),
        # "logp": a thin space before an argument without parentheses.
        (r"\log p", '<mi>log</mi><mo rspace="0.1667em">\u2061</mo><mi>p</mi>'),
        (r"\log_2 n", '</msub><mo rspace="0.1667em">\u2061</mo><mi>n</mi>'),
        (r"x \sim p", "<mi>x</mi><mo>\u223c</mo><mi>p</mi>"),
        (r"a, \ldots, b", "<mo>\u2026</mo>"),
        # The left bar stretched to the height of the script on the right one.
        (r"\lVert\theta\rVert_2^2", '<mo stretchy="false">\u2016</mo><mi>'),
        (r"\left| x \right|", '<mo stretchy="true" fence="true" form="prefix">'),
        (r"a/b", '<mo lspace="0" rspace="0">/</mo>'),
        (r"\mathrm{d}x", '<mi mathvariant="normal">d</mi><mi>x</mi>'),
        # mod is an operator between its operands, not a function of the next.
        (r"a \bmod b", "<mi>a</mi><mo>mod</mo><mi>b</mi>"),
    ],
)
def test_math_is_set_and_read_as_tex_means_it(tex, expected):
    html = render(f"${tex}$").html.split("<annotation")[0]
    assert expected in html
