// TikTok Studio's upload form: hidden file input, DraftJS-like caption editor pre-filled with
// the file name, hashtag popover, post button enabled once the upload finished, beforeunload.
(() => {
  const $ = (s) => document.querySelector(s);
  const input = $('input[type="file"]');
  const selectArea = $("#select-area");
  const form = $("#form");
  const notice = $("#notice");
  const editor = $(".public-DraftEditor-content");
  const popover = $(".mention-list-popover");
  const post = form.querySelector("button[data-disabled]");
  const visibility = $(".select");
  const listbox = $('[role="listbox"]');
  const stage = (name) => (window.replicaStage ? window.replicaStage(name) : Promise.resolve());
  let videoId = null;
  let chosenVisibility = "everyone";
  let dirty = false;
  let asked = false;

  const toLogin = () => {
    window.top.location.href = "/login?redirect_url=" + encodeURIComponent("/tiktokstudio/upload");
  };

  window.addEventListener("beforeunload", (ev) => {
    if (dirty) { ev.preventDefault(); ev.returnValue = ""; }
  });

  // Draft keeps its block structure whatever the browser does to the contenteditable.
  function setText(text) {
    const contents = document.createElement("div");
    contents.setAttribute("data-contents", "true");
    const block = document.createElement("div");
    block.setAttribute("data-block", "true");
    const span = document.createElement("span");
    span.setAttribute("data-text", "true");
    span.textContent = text;
    block.appendChild(span);
    contents.appendChild(block);
    editor.replaceChildren(contents);
    const range = document.createRange();
    range.selectNodeContents(span);
    range.collapse(false);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }
  const text = () => editor.innerText.replace(/\n$/, "");

  function showPopover(tag) {
    const options = [tag + "challenge", tag + "tok", tag];
    popover.innerHTML = options.map((t, i) =>
      `<li data-tag="${t}">#${t} <small>${(i + 1) * 13}.${i}M views</small></li>`).join("");
    popover.hidden = false;
  }
  function pick(tag) {
    setText(text().replace(/#(\w*)$/, "#" + tag + " "));
    popover.hidden = true;
  }
  editor.addEventListener("input", () => {
    if (!editor.querySelector('[data-contents="true"]')) { setText(text()); }
    const m = /#(\w+)$/.exec(text());
    if (m) { showPopover(m[1]); } else { popover.hidden = true; }
  });
  editor.addEventListener("keydown", (ev) => {
    if (popover.hidden) { return; }
    if (ev.key === "Escape") { popover.hidden = true; ev.preventDefault(); }
    if (ev.key === "Enter") { ev.preventDefault(); pick(popover.querySelector("li").dataset.tag); }
  });
  popover.addEventListener("click", (ev) => {
    const li = ev.target.closest("li");
    if (li) { pick(li.dataset.tag); }
  });

  visibility.addEventListener("click", () => { listbox.hidden = !listbox.hidden; });
  listbox.addEventListener("click", (ev) => {
    const li = ev.target.closest("li");
    if (!li) { return; }
    chosenVisibility = li.dataset.value;
    visibility.textContent = li.textContent;
    listbox.hidden = true;
  });

  function failed(message) {
    notice.textContent = message;
    form.hidden = true;
    selectArea.hidden = false;
    input.value = "";
  }

  $("#select-btn").addEventListener("click", () => input.click());
  input.addEventListener("change", async () => {
    const file = input.files[0];
    if (!file) { return; }
    notice.textContent = "";
    dirty = true;
    selectArea.hidden = true;
    form.hidden = false;
    setText(file.name);
    post.setAttribute("data-disabled", "true");
    post.setAttribute("aria-disabled", "true");
    stage("file_selected");
    const resp = await fetch("/tiktokstudio/api/upload", { method: "POST", body: file });
    if (resp.status === 401) { dirty = false; toLogin(); return; }
    const body = await resp.json();
    if (!resp.ok) { failed(body.error); return; }
    videoId = body.video_id;
    $("#pct").textContent = "100%";
    post.setAttribute("data-disabled", "false");
    post.setAttribute("aria-disabled", "false");
    stage("upload_done");
  });

  async function publish() {
    const resp = await fetch("/tiktokstudio/api/post", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ video_id: videoId, caption: text(), visibility: chosenVisibility }),
    });
    if (resp.status === 401) { dirty = false; toLogin(); return; }
    const body = await resp.json();
    if (!resp.ok) { notice.textContent = body.error; return; }
    notice.textContent = "";
    const done = document.createElement("div");
    done.className = "toast";
    done.textContent = "Your video has been uploaded";
    document.body.appendChild(done);
    // The form is still "dirty": the beforeunload handler asks before this redirect.
    setTimeout(() => { window.top.location.href = "/tiktokstudio/content"; }, 300);
  }

  post.addEventListener("click", async () => {
    if (post.getAttribute("data-disabled") !== "false") { return; }
    const planned = (window.REPLICA.popups || []).some((p) => p.kind === "continue_to_post");
    if (!planned || asked) { publish(); return; }
    asked = true;
    const answers = await stage("post_clicked");
    if (answers.includes("Post now")) { publish(); }
  });
  $("#discard").addEventListener("click", () => { dirty = false; window.location.reload(); });
})();
