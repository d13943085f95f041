import pytest

from actors.text import (
    LINK_REL,
    description_html,
    display_name,
    hashtag_objects,
    hashtags_html,
    markdown_to_html,
    plain_text,
    sanitize_html,
    strip_controls,
)

# --- sanitize_html: hostile input -------------------------------------------------------------


@pytest.mark.parametrize(
    ("hostile", "expected"),
    [
        ("<p>hi<script>alert(1)</script></p>", "<p>hi</p>"),
        ("<style>body{display:none}</style><p>x</p>", "<p>x</p>"),
        ('<img src=x onerror="alert(1)">ok', "ok"),
        ('<p onclick="alert(1)" style="color:red" id="x">t</p>', "<p>t</p>"),
        ("<svg><script>alert(1)</script></svg>after", "after"),
        ('<iframe src="https://evil.example"></iframe>x', "x"),
        ("<template><b>hidden</b></template>x", "x"),
        ("<!-- <script>alert(1)</script> -->x", "x"),
        ("<form><input value=1><button>b</button></form>", "b"),
        ("<b><i>unclosed <p>para", "<b><i>unclosed <p>para</p></i></b>"),
        ("</p></b>stray<p>", "<p></p>stray<p></p>"),  # as an HTML5 parser reads it
        ("<scr<script>ipt>alert(1)</script>", "ipt&gt;alert(1)"),
    ],
)
def test_hostile_markup_is_removed(hostile: str, expected: str) -> None:
    assert sanitize_html(hostile) == expected


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "  JaVaScRiPt:alert(1)",
        "jav&#x09;ascript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "/relative/path",
        "//evil.example/x",
        "ftp://files.example/x",
    ],
)
def test_refused_urls_lose_their_href(href: str) -> None:
    out = sanitize_html(f'<a href="{href}">click</a>')
    assert "href" not in out
    assert "click" in out
    assert "script" not in out.lower() and "data:" not in out


@pytest.mark.parametrize(
    "href", ["https://union.example/strike", "http://union.example/", "mailto:a@union.example"]
)
def test_allowed_links_keep_href_and_get_rel_without_target(href: str) -> None:
    out = sanitize_html(f'<a href="{href}" target="_blank" rel="opener">x</a>')
    assert out == f'<a href="{href}" rel="{LINK_REL}">x</a>'
    assert LINK_REL == "nofollow noopener noreferrer"


def test_allow_list_keeps_formatting() -> None:
    source = (
        "<p>a<br><strong>s</strong><b>b</b><em>e</em><i>i</i><u>u</u><s>s</s><del>d</del>"
        "<code>c</code></p><blockquote><p>q</p></blockquote><ul><li>1</li></ul>"
        '<ol start="3"><li>3</li></ol><pre><code>x = 1</code></pre>'
    )
    assert sanitize_html(source) == source


def test_ol_start_must_be_a_number() -> None:
    assert sanitize_html('<ol start="3;x"><li>a</li></ol>') == "<ol><li>a</li></ol>"
    assert sanitize_html('<ol start=" 4 "><li>a</li></ol>') == '<ol start="4"><li>a</li></ol>'


def test_classes_only_from_mastodons_markup() -> None:
    mention = (
        '<span class="h-card evil"><a href="https://m.example/@ana" class="u-url mention big">'
        '@<span class="invisible x">m</span><span class="ellipsis">ana</span></a></span>'
    )
    assert sanitize_html(mention) == (
        '<span class="h-card"><a href="https://m.example/@ana" class="u-url mention" '
        f'rel="{LINK_REL}">@<span class="invisible">m</span><span class="ellipsis">ana</span>'
        "</a></span>"
    )
    assert sanitize_html('<p class="h-card">x</p><code class="language-py">y</code>') == (
        "<p>x</p><code>y</code>"
    )


def test_headings_kept_for_descriptions_only() -> None:
    source = "<h1>Title</h1><h2>Agenda</h2><h3>a</h3><h4>b</h4><h5>c</h5>"
    assert sanitize_html(source) == "Title<h2>Agenda</h2><h3>a</h3><h4>b</h4>c"
    assert sanitize_html(source, headings=False) == "TitleAgendaabc"


def test_text_is_escaped_not_interpreted() -> None:
    assert sanitize_html("a &lt;script&gt; & b") == "a &lt;script&gt; &amp; b"


# --- Markdown ---------------------------------------------------------------------------------


def test_markdown_emphasis_and_paragraphs() -> None:
    assert markdown_to_html("Hello *world* and **all**\n\nSecond ~~old~~") == (
        "<p>Hello <em>world</em> and <strong>all</strong></p>\n<p>Second <s>old</s></p>"
    )


def test_markdown_single_newline_is_a_line_break() -> None:
    assert markdown_to_html("Praça do Comércio\nLisboa") == "<p>Praça do Comércio<br>\nLisboa</p>"


def test_markdown_lists() -> None:
    assert markdown_to_html("- a\n- b\n\n3. c\n4. d") == (
        '<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n<ol start="3">\n<li>c</li>\n<li>d</li>\n</ol>'
    )


def test_markdown_links_and_autolinks() -> None:
    out = markdown_to_html(
        "[site](https://union.example/a) <https://auto.example> "
        "https://bare.example/x?a=1&b=2 strike@union.org e.g. file.py"
    )
    assert out == (
        f'<p><a href="https://union.example/a" rel="{LINK_REL}">site</a> '
        f'<a href="https://auto.example" rel="{LINK_REL}">https://auto.example</a> '
        f'<a href="https://bare.example/x?a=1&amp;b=2" rel="{LINK_REL}">'
        "https://bare.example/x?a=1&amp;b=2</a> "
        f'<a href="mailto:strike@union.org" rel="{LINK_REL}">strike@union.org</a> '
        "e.g. file.py</p>"
    )


def test_markdown_raw_html_is_escaped() -> None:
    out = markdown_to_html('<script>alert(1)</script> <b onclick="x">b</b>\n\n<div>block</div>')
    assert "<script" not in out and "<b" not in out and "<div" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "&lt;div&gt;block&lt;/div&gt;" in out


@pytest.mark.parametrize(
    "source",
    [
        "[x](javascript:alert(1))",
        "[x](data:text/html,<script>alert(1)</script>)",
        "<javascript:alert(1)>",
        "[x](JAVASCRIPT:alert(1))",
    ],
)
def test_markdown_hostile_links_are_not_links(source: str) -> None:
    assert "href" not in markdown_to_html(source)


def test_markdown_headings_shift_below_the_page_title() -> None:
    assert markdown_to_html("# Agenda\n## Points\n### Sub\n#### Deep") == (
        "<h2>Agenda</h2>\n<h3>Points</h3>\n<h4>Sub</h4>\n<h4>Deep</h4>"
    )
    # "#MayDay" is a hashtag, not a heading.
    assert markdown_to_html("#MayDay") == "<p>#MayDay</p>"


def test_markdown_image_becomes_link_to_it() -> None:
    assert markdown_to_html("![the poster](https://i.example/p.png)") == (
        f'<p><a href="https://i.example/p.png" rel="{LINK_REL}">the poster</a></p>'
    )


def test_markdown_code_block() -> None:
    assert markdown_to_html("```python\nx < 1\n```") == "<pre><code>x &lt; 1\n</code></pre>"


def test_description_html_dispatches_on_format() -> None:
    assert description_html("*a*", format="markdown") == "<p><em>a</em></p>"
    assert description_html("*a*<script>x</script>", format="html") == "*a*"
    with pytest.raises(ValueError, match="format"):
        description_html("a", format="bbcode")  # type: ignore[arg-type]


# --- plain_text -------------------------------------------------------------------------------


def test_plain_text_structure() -> None:
    source = (
        "<h2>Agenda</h2><p>a &amp; b &lt;c&gt;&nbsp;  d\n   e</p><p>f<br>g<br><br>h</p>"
        '<ul><li>x</li><li>y</li></ul><ol start="3"><li>c</li><li>d</li></ol>'
        '<p>see <a href="https://u.example">the <b>site</b></a>.</p>'
        "<blockquote><p>quoted</p></blockquote><pre>  two\n  lines</pre>"
    )
    assert plain_text(source) == (
        "Agenda\n\na & b <c> d e\n\nf\ng\n\nh\n\n- x\n- y\n\n3. c\n4. d\n\n"
        "see the site.\n\nquoted\n\n  two\n  lines"
    )


def test_plain_text_drops_scripts_and_unknown_markup() -> None:
    assert plain_text("<div>one</div><div>two<script>x()</script></div><style>p{}</style>") == (
        "one\n\ntwo"
    )


def test_plain_text_of_mastodon_link_markup_is_the_whole_url() -> None:
    source = (
        '<p><a href="https://union.example/very/long"><span class="invisible">https://</span>'
        '<span class="ellipsis">union.example/ve</span><span class="invisible">ry/long</span>'
        "</a></p>"
    )
    assert plain_text(source) == "https://union.example/very/long"


@pytest.mark.parametrize(
    ("markdown", "text"),
    [
        ("Hello *world*\n\nSecond **para**", "Hello world\n\nSecond para"),
        ("Line one\nLine two", "Line one\nLine two"),
        ("- a\n- b", "- a\n- b"),
        ("Visit https://x.example/a?b=1&c=2 now", "Visit https://x.example/a?b=1&c=2 now"),
        ("<b>not html</b> & more", "<b>not html</b> & more"),
        ("# Title\n\nBody", "Title\n\nBody"),
    ],
)
def test_plain_text_round_trips_markdown(markdown: str, text: str) -> None:
    assert plain_text(markdown_to_html(markdown)) == text


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        (100, "General strike, May Day march"),
        (29, "General strike, May Day march"),
        (28, "General strike, May Day…"),
        (24, "General strike, May Day…"),
        (23, "General strike, May…"),
        (16, "General strike…"),  # the trailing comma goes before the ellipsis
        (5, "Gene…"),  # one word longer than the limit is cut inside it
        (1, "…"),
    ],
)
def test_plain_text_truncates_on_word_boundary(limit: int, expected: str) -> None:
    out = plain_text("<p>General strike, May Day march</p>", limit)
    assert out == expected
    assert len(out) <= limit


def test_plain_text_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        plain_text("x", 0)


# --- hashtags ---------------------------------------------------------------------------------


def test_hashtag_objects() -> None:
    assert hashtag_objects(["#MayDay", "mayday", "Grève"], "https://node.example/") == [
        {"type": "Hashtag", "href": "https://node.example/tags/mayday", "name": "#MayDay"},
        {"type": "Hashtag", "href": "https://node.example/tags/gr%C3%A8ve", "name": "#Grève"},
    ]
    with pytest.raises(ValueError):
        hashtag_objects(["not a tag"], "https://node.example")


def test_hashtags_html_matches_mastodon_markup() -> None:
    assert hashtags_html(["MayDay", "#Grève"], "https://node.example") == (
        '<a href="https://node.example/tags/mayday" class="mention hashtag" rel="tag">'
        "#<span>MayDay</span></a> "
        '<a href="https://node.example/tags/gr%C3%A8ve" class="mention hashtag" rel="tag">'
        "#<span>Grève</span></a>"
    )
    assert hashtags_html([], "https://node.example") == ""


def test_hashtag_markup_survives_sanitizing() -> None:
    markup = hashtags_html(["MayDay"], "https://node.example")
    assert sanitize_html(markup) == (
        '<a href="https://node.example/tags/mayday" class="mention hashtag" '
        f'rel="{LINK_REL}">#<span>MayDay</span></a>'
    )
    assert sanitize_html(markup, headings=False) == sanitize_html(markup)
    assert plain_text(markup) == "#MayDay"


# --- strip_controls: what misleads, not what words need ----------------------------------------


@pytest.mark.parametrize(
    ("hostile", "expected"),
    [
        ("invoice\u202egnp.exe", "invoicegnp.exe"),  # shows as "invoiceexe.png" otherwise
        ("\u2067\u05e9\u05dc\u05d5\u05dd\u2069 world", "\u05e9\u05dc\u05d5\u05dd world"),
        ("a\u202ab\u202bc\u202cd\u202de", "abcde"),
        ("zero\u200bwidth\ufeff\u2060", "zerowidth"),
        ("\u200emark\u200f\u061c", "mark"),
        # ZWNJ in Persian, ZWJ in an emoji sequence and in Devanagari: kept.
        *(
            (kept, kept)
            for kept in (
                "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
                "\U0001f469\u200d\U0001f3ed",
                "\u0915\u094d\u200d\u0937",
            )
        ),
    ],
)
def test_strip_controls(hostile: str, expected: str) -> None:
    assert strip_controls(hostile) == expected


def test_display_name_takes_the_first_name_that_shows_something() -> None:
    assert display_name("\u202e\u200b", " sindicato ", "https://x.example/u") == "sindicato"
    assert display_name(None, "", "https://x.example/u", limit=9) == "https://x"
    assert display_name(None, "\u2066") is None
