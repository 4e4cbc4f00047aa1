import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from blog import search
from blog.models import Post
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db

LONG_CHINESE = (
    "在大型语言模型中，幻觉通常指模型生成不实、虚构、不一致或无意义的内容。"
    "本文将幻觉问题聚焦于模型输出未被上下文或世界知识所支撑的情况，并讨论检索增强的缓解方法。"
)


def titles(response):
    return [post.title for post in response.context["posts"]]


def do_search(client, q, **params):
    return client.get(reverse("blog:post_search"), {"q": q, **params})


def test_segment_splits_han_runs_into_bigrams():
    assert search.segment("幻觉问题 and LoRA微调").split() == [
        "幻觉",
        "觉问",
        "问题",
        "and",
        "LoRA",
        "微调",
    ]


def test_a_dotted_name_is_found_by_its_parts_and_whole(client):
    # PostgreSQL's parser keeps k.transpose as one token (a host name): a search for
    # "transpose" found nothing.
    PostFactory(title="Attention", body="scores = q @ k.transpose(-2, -1) / 8")
    PostFactory(title="Softmax", body="Call torch.nn.functional.softmax on the logits.")
    PostFactory(title="C++", body="A std::vector grows; node->next moves on.")
    PostFactory(title="Pi", body="Roughly 3.14 and nothing else.")
    assert titles(do_search(client, "transpose")) == ["Attention"]
    assert titles(do_search(client, "torch.nn.functional.softmax")) == ["Softmax"]
    assert titles(do_search(client, "functional")) == ["Softmax"]
    assert titles(do_search(client, "vector")) == ["C++"]
    assert titles(do_search(client, "next")) == ["C++"]
    assert search.segment("Roughly 3.14 here") == "Roughly 3.14 here"


def test_a_dotted_name_in_a_query_finds_that_name_only(client):
    # Split into words and ORed: "torch.amp" found every post that says "torch".
    PostFactory(title="AMP", body="Wrap the step in torch.amp.autocast for speed.")
    PostFactory(title="Torch", body="torch is a library; amp up the volume.")
    PostFactory(title="GPT", body="GPT-3.5 and Llama-3.1-8B compared.")
    PostFactory(title="Pi", body="Roughly 3.14 and nothing else.")
    assert titles(do_search(client, "torch.amp")) == ["AMP"]
    assert titles(do_search(client, "3.14")) == ["Pi"]
    # Hyphenated names stay PostgreSQL's words, found as before.
    assert "GPT" in titles(do_search(client, "gpt-3.5"))
    assert "GPT" in titles(do_search(client, "Llama-3.1-8B"))
    assert set(titles(do_search(client, "torch"))) == {"AMP", "Torch"}
    assert "<mark>torch.amp</mark>" in do_search(client, "torch.amp").content.decode()


def test_two_character_word_inside_long_chinese_sentence_is_found(client):
    PostFactory(title="幻觉问题综述", body=LONG_CHINESE)
    PostFactory(title="XGBoost 原理", body="梯度提升树是一种集成学习方法。")
    assert titles(do_search(client, "检索")) == ["幻觉问题综述"]
    assert titles(do_search(client, "上下文")) == ["幻觉问题综述"]


def test_chinese_phrase_does_not_match_scattered_characters(client):
    PostFactory(title="A", body="模型的输出")
    PostFactory(title="B", body="型号和模具")
    assert titles(do_search(client, "模型")) == ["A"]


def test_english_words_match_across_inflections(client):
    PostFactory(title="FlashAttention", body="Computing attentions block by block.")
    assert titles(do_search(client, "attention")) == ["FlashAttention"]
    PostFactory(title="Runner", body="The model is running.")
    assert titles(do_search(client, "runs")) == ["Runner"]


def test_title_weighs_more_than_body(client):
    PostFactory(title="Notes", body="Some text mentioning quantization once.")
    PostFactory(title="Quantization explained", body="Some text.")
    assert titles(do_search(client, "quantization"))[0] == "Quantization explained"


def test_posts_with_all_words_rank_first(client):
    PostFactory(title="Only one", body="LoRA " * 20)
    PostFactory(title="Both words", body="LoRA and 量化 together.")
    PostFactory(title="Unrelated", body="nothing here")
    result = titles(do_search(client, "LoRA 量化"))
    assert result == ["Both words", "Only one"]


def test_mixed_chinese_english_query(client):
    PostFactory(
        title="DDP 快速上手", body="PyTorch 分布式训练，使用 DistributedDataParallel。"
    )
    PostFactory(title="Other", body="PyTorch basics")
    assert titles(do_search(client, "pytorch 分布式"))[0] == "DDP 快速上手"


def test_drafts_and_future_posts_are_never_found(client):
    PostFactory(title="Draft match", body="transformer", status=Post.Status.DRAFT)
    PostFactory(
        title="Future match",
        body="transformer",
        published_at=timezone.now() + timedelta(hours=1),
    )
    PostFactory(title="Visible match", body="transformer")
    assert titles(do_search(client, "transformer")) == ["Visible match"]


def test_results_have_highlighted_snippet_and_query_kept_in_box(client):
    PostFactory(title="幻觉", body=LONG_CHINESE)
    response = do_search(client, "检索")
    html = response.content.decode()
    assert "<mark>检索</mark>" in html
    assert 'value="检索"' in html


def test_snippet_escapes_html():
    html = search.snippet("a <script>alert(1)</script> attention b", ["attention"])
    assert "<script>" not in html
    assert "<mark>attention</mark>" in html


def test_search_results_are_paginated(client):
    PostFactory.create_batch(13, body="embedding vectors")
    first = do_search(client, "embedding")
    assert len(first.context["posts"]) == 10
    html = first.content.decode()
    assert "?q=embedding&amp;page=2" in html
    assert len(do_search(client, "embedding", page=2).context["posts"]) == 3
    assert do_search(client, "embedding", page=9).status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        "a" * 1000,
        "注意力" * 400,
        '"unclosed',
        "' OR 1=1 --",
        "%",
        "_",
        "\\",
        "\\\\'",
        "😀 emoji",
        "a & b | !c <-> d:*",
        "()",
        "'''",
        "\x00",
    ],
)
def test_bad_queries_answer_normally(client, query):
    PostFactory(body="something")
    response = do_search(client, query)
    assert response.status_code == 200


@pytest.mark.parametrize("raw", ["%ED%A0%80", "%FF%FE", "%00", "%E4%B8", "q%3D%25"])
def test_undecodable_query_bytes_answer_normally(client, raw):
    # A lone surrogate or broken UTF-8 arrives percent-encoded on the wire.
    response = client.get(reverse("blog:post_search") + "?q=" + raw)
    assert response.status_code == 200


@pytest.mark.parametrize("matching", [12, 40])
@pytest.mark.parametrize("query", ["gradient", "梯度下降 gradient"])
def test_search_query_count_does_not_grow_with_matches(
    client, django_assert_num_queries, matching, query
):
    PostFactory.create_batch(matching, title="梯度下降", body="gradient descent")
    # content token, ranked candidate ids, the page's posts with their tags
    with django_assert_num_queries(3):
        response = do_search(client, query)
    assert len(response.context["posts"]) == 10


def test_rebuild_search_index_command(client):
    from django.core.management import call_command

    post = PostFactory(body="vector database")
    Post.objects.filter(pk=post.pk).update(search_vector=None, title_search_vector=None)
    assert titles(do_search(client, "vector")) == []
    call_command("rebuild_search_index", stdout=io.StringIO())
    assert titles(do_search(client, "vector")) == [post.title]


def test_common_words_rank_only_the_newest_matches(client, monkeypatch):
    monkeypatch.setattr(search, "SEARCH_CANDIDATES", 5)
    PostFactory.create_batch(8, body="transformer")
    response = do_search(client, "transformer")
    assert response.context["paginator"].count == 5
    assert "the newest matches" in response.content.decode()


def test_old_post_with_query_in_title_ranks_above_newer_body_matches(
    client, monkeypatch
):
    monkeypatch.setattr(search, "SEARCH_CANDIDATES", 5)
    PostFactory(title="Transformer internals", body="Old but on topic.")
    PostFactory.create_batch(8, body="A transformer is mentioned here.")
    response = do_search(client, "transformer")
    assert titles(response)[0] == "Transformer internals"
    # The five newest body matches plus the older title match; more exist.
    assert response.context["paginator"].count == 6
    assert response.context["is_capped"]


def test_old_chinese_title_match_is_found_beyond_the_newest_matches(
    client, monkeypatch
):
    monkeypatch.setattr(search, "SEARCH_CANDIDATES", 3)
    PostFactory(title="深入理解注意力机制", body="旧文章。")
    PostFactory.create_batch(5, body="这里提到了注意力。")
    assert titles(do_search(client, "注意力"))[0] == "深入理解注意力机制"


def test_chinese_word_needs_its_characters_adjacent(client):
    # 幻觉, 觉问 and 问题 all occur, but never as 幻觉问题.
    PostFactory(title="Scattered", body="幻觉很常见。知觉问卷。问题很多。")
    PostFactory(title="Phrase", body=LONG_CHINESE)
    assert titles(do_search(client, "幻觉问题")) == ["Phrase"]
    assert list(
        Post.objects.published().search("幻觉问题").values_list("title", flat=True)
    ) == ["Phrase"]
    assert titles(do_search(client, "幻觉")) == ["Phrase", "Scattered"]


def test_capped_note_counts_candidates_that_were_not_exact(client, monkeypatch):
    monkeypatch.setattr(search, "SEARCH_CANDIDATES", 2)
    PostFactory(title="Phrase", body=LONG_CHINESE)
    PostFactory.create_batch(2, body="幻觉很常见。知觉问卷。问题很多。")
    response = do_search(client, "幻觉问题")
    # The two newest candidates only look like matches: the answer is not
    # "no posts match" but "narrow the search".
    assert titles(response) == []
    assert response.context["is_capped"]


def test_fewer_matches_than_the_limit_are_all_found_and_not_capped(client):
    PostFactory(title="Transformer internals", body="On topic.")
    PostFactory.create_batch(3, body="A transformer is mentioned here.")
    response = do_search(client, "transformer")
    assert response.context["paginator"].count == 4
    assert not response.context["is_capped"]
    assert "the newest matches" not in response.content.decode()


def test_search_candidates_filter_on_the_title_vector_with_gin_index():
    fields = {field.name for field in Post._meta.get_fields()}
    assert "title_search_vector" in fields
    post = PostFactory(title="混合精度训练 mixed precision")
    stored = Post.objects.filter(pk=post.pk).values_list(
        "title_search_vector", flat=True
    )[0]
    assert "'混合'" in stored
    assert "'precis'" in stored
