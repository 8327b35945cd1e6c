"""HTML for the demo site: small inline templates, every value escaped, no external assets."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from automation.sites.demo.state import Post

_CSS = """
body { font-family: sans-serif; margin: 0; background: #f4f4f6; color: #222; }
header { background: #202040; color: #fff; padding: .6em 1em; display: flex; gap: 1em; }
header a { color: #cde; } #whoami { margin-left: auto; }
main { max-width: 40em; margin: 1em auto; padding: 0 1em; }
article.post { background: #fff; border-radius: 6px; margin: .8em 0; padding: .6em 1em;
  min-height: 7em; }
.error { color: #a00; background: #fee; padding: .5em; border: 1px solid #c88; }
form label { display: block; margin: .5em 0; }
#feed-more { padding: 2em; text-align: center; color: #777; }
"""

_FEED_JS = """
(() => {
  const feed = document.getElementById('feed');
  const more = document.getElementById('feed-more');
  let busy = false;
  function article(p) {
    const a = document.createElement('article');
    a.className = 'post';
    a.dataset.postId = p.id;
    const link = document.createElement('a');
    link.className = 'post-link';
    link.href = p.url;
    const h = document.createElement('h2');
    h.className = 'post-title';
    h.textContent = p.title;
    link.appendChild(h);
    const c = document.createElement('p');
    c.className = 'post-caption';
    c.textContent = p.caption;
    const by = document.createElement('a');
    by.className = 'post-author';
    by.href = '/u/' + encodeURIComponent(p.author);
    by.textContent = p.author;
    a.append(link, c, by);
    return a;
  }
  async function load() {
    const offset = Number(more.dataset.nextOffset);
    if (busy || offset < 0) return;
    busy = true;
    try {
      const r = await fetch(`/api/feed?offset=${offset}&limit=10`);
      if (!r.ok) return;
      const data = await r.json();
      data.posts.forEach(p => feed.appendChild(article(p)));
      more.dataset.nextOffset = data.next_offset ?? -1;
      if (data.next_offset === null) { more.textContent = 'No more posts'; seen.disconnect(); }
    } finally {
      busy = false;
    }
    // Re-observe: a sentinel that stays in view after a load would not fire again otherwise.
    seen.unobserve(more);
    if (Number(more.dataset.nextOffset) >= 0) seen.observe(more);
  }
  const seen = new IntersectionObserver(
    entries => { if (entries.some(e => e.isIntersecting)) load(); },
    { rootMargin: '300px' });
  seen.observe(more);
})();
"""

_PROCESSING_JS = """
(() => {
  const el = document.getElementById('processing');
  const id = el.dataset.postId;
  async function poll() {
    try {
      const r = await fetch(`/api/post-status?id=${id}`);
      if (r.ok && (await r.json()).status === 'ready') {
        location.replace(`/post/${id}`);
        return;
      }
    } catch (e) { /* try again below */ }
    setTimeout(poll, 250);
  }
  setTimeout(poll, 250);
})();
"""


def layout(title: str, body: str, *, user: str | None = None, head: str = "") -> str:
    """Wrap body in the site's page chrome; logged-in pages carry #whoami."""
    nav = '<a href="/feed">DemoTube</a>'
    if user is not None:
        u = escape(user)
        nav += (
            f' <a href="/upload">Upload</a> <a href="/u/{u}">My profile</a>'
            f' <span id="whoami" data-user="{u}">{u}</span>'
        )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)} · DemoTube</title><style>{_CSS}</style>{head}</head>"
        f"<body><header>{nav}</header><main>{body}</main></body></html>"
    )


def _error(message: str | None) -> str:
    return f'<div id="error" class="error">{escape(message)}</div>' if message else ""


def login_page(error: str | None = None, username: str = "") -> str:
    """The login form, with the site's complaint when the last try failed."""
    return layout(
        "Log in",
        f"<h1>Log in</h1>{_error(error)}"
        '<form id="login-form" method="post" action="/login">'
        '<label>Username <input id="username" name="username" autocomplete="username"'
        f' value="{escape(username)}"></label>'
        '<label>Password <input id="password" name="password" type="password"'
        ' autocomplete="current-password"></label>'
        '<button id="login-submit" type="submit">Log in</button></form>',
    )


def verify_page(user: str, error: str | None = None) -> str:
    """The one-time code form shown to users who must verify their login."""
    return layout(
        "Verify",
        f"<h1>Check your messages</h1>{_error(error)}"
        f'<p id="verify-hint">We sent a 6-digit code to {escape(user)}. Enter it below.</p>'
        '<form id="verify-form" method="post" action="/verify">'
        '<label>Code <input id="code" name="code" inputmode="numeric" maxlength="6"'
        ' autocomplete="one-time-code"></label>'
        '<button id="verify-submit" type="submit">Verify</button></form>',
    )


def _article(post: Post, *, author: bool = True, pending: bool = False) -> str:
    by = f'<a class="post-author" href="/u/{escape(post.author)}">{escape(post.author)}</a>'
    css = "post pending" if pending else "post"
    return (
        f'<article class="{css}" data-post-id="{post.id}">'
        f'<a class="post-link" href="{post.url}"><h2 class="post-title">{escape(post.title)}'
        f'</h2></a><p class="post-caption">{escape(post.caption)}</p>'
        f"{by if author else ''}</article>"
    )


def feed_page(user: str, posts: Iterable[Post], next_offset: int | None) -> str:
    """The feed: the first posts, and a sentinel that loads more when scrolled into view."""
    items = "".join(_article(p) for p in posts)
    more = -1 if next_offset is None else next_offset
    return layout(
        "Feed",
        f'<h1>Feed</h1><section id="feed">{items}</section>'
        f'<div id="feed-more" data-next-offset="{more}">Loading more…</div>'
        f"<script>{_FEED_JS}</script>",
        user=user,
    )


def post_page(user: str, post: Post) -> str:
    """One post with its status."""
    return layout(
        post.title,
        f'<article id="post" data-post-id="{post.id}"><h1 id="post-title">{escape(post.title)}'
        f'</h1><p id="post-caption">{escape(post.caption)}</p>'
        f'<p>by <a id="post-author" href="/u/{escape(post.author)}">{escape(post.author)}</a>'
        f'</p><p>Status: <span id="post-status">{post.status()}</span></p></article>',
        user=user,
    )


def profile_page(user: str, owner: str, ready: list[Post], pending: list[Post]) -> str:
    """A profile: ready posts newest first; the owner also sees uploads still processing."""
    posts = "".join(_article(p, author=False) for p in ready) or '<p class="empty">No posts</p>'
    waiting = ""
    if pending:
        items = "".join(_article(p, author=False, pending=True) for p in pending)
        waiting = f'<h2>Still processing</h2><section id="pending">{items}</section>'
    return layout(
        owner,
        f'<section id="profile" data-user="{escape(owner)}"><h1>{escape(owner)}</h1>'
        f'{waiting}<section id="posts">{posts}</section></section>',
        user=user,
    )


def upload_page(user: str, form_id: str, error: str | None = None) -> str:
    """The upload form, with the site's complaint when the last upload was refused."""
    return layout(
        "Upload",
        f"<h1>Upload a video</h1>{_error(error)}"
        '<form id="upload-form" method="post" action="/upload" enctype="multipart/form-data">'
        f'<input type="hidden" name="form_id" value="{escape(form_id)}">'
        '<label>Video <input id="video" name="video" type="file"'
        ' accept="video/mp4,video/webm"></label>'
        '<label>Title <input id="title" name="title" maxlength="200"></label>'
        '<label>Caption <textarea id="caption" name="caption" rows="3"></textarea></label>'
        '<button id="upload-submit" type="submit">Upload</button></form>',
        user=user,
    )


def processing_page(user: str, post: Post) -> str:
    """Shown while an upload is processed; polls the status API and moves on when ready."""
    return layout(
        "Processing",
        f'<p id="processing" data-post-id="{post.id}">Processing…</p>'
        f"<script>{_PROCESSING_JS}</script>",
        user=user,
        head='<noscript><meta http-equiv="refresh" content="1"></noscript>',
    )


def message_page(title: str, text: str, *, user: str | None = None) -> str:
    """A plain page for 404s and server errors."""
    return layout(title, f'<h1>{escape(title)}</h1><p id="message">{escape(text)}</p>', user=user)
