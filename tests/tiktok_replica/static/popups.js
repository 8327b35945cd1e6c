// Popups that block clicks, shown at seeded random points (window.REPLICA.popups), plus
// the cookie banner (a custom element with a shadow root) and the captcha container.
(() => {
  const cfg = window.REPLICA || { popups: [] };
  const shown = new Set();

  function overlay(inner, onButton) {
    const el = document.createElement("div");
    el.className = "overlay";
    el.innerHTML = inner;
    el.addEventListener("click", (ev) => {
      if (ev.target.tagName === "BUTTON") { el.remove(); onButton(ev.target.textContent.trim()); }
    });
    document.body.appendChild(el);
  }

  function dialog(title, buttons, onButton) {
    const html = `<div role="dialog" aria-modal="true"><h2>${title}</h2>` +
      buttons.map((b) => `<button type="button">${b}</button>`).join(" ") + "</div>";
    overlay(html, onButton);
  }

  const KINDS = {
    new_features: (done) => dialog("New editing features added",
      ["Got it"], done),
    tutorial: (done) => {
      const el = document.createElement("div");
      el.className = "overlay react-joyride__overlay";
      el.innerHTML = '<div class="tooltip"><p>Add a description and choose who can watch.</p>' +
        '<button type="button">Next</button> <button type="button">Skip</button></div>';
      el.addEventListener("click", (ev) => {
        if (ev.target.textContent.trim() === "Skip") { el.remove(); done("Skip"); }
      });
      document.body.appendChild(el);
    },
    content_checks: (done) => dialog("Turn on automatic content checks?",
      ["Cancel", "Turn on"], done),
    continue_to_post: (done) => dialog("Continue to post?",
      ["Cancel", "Post now"], done),
  };

  // Shows every popup planned for this stage; resolves when the last one is answered.
  window.replicaStage = (stage) => {
    const due = cfg.popups.filter((p) => p.stage === stage && !shown.has(p.kind));
    return Promise.all(due.map((p) => new Promise((resolve) => {
      shown.add(p.kind);
      setTimeout(() => KINDS[p.kind](resolve), p.delay_ms);
    })));
  };

  class CookieBanner extends HTMLElement {
    connectedCallback() {
      const root = this.attachShadow({ mode: "open" });
      root.innerHTML = '<div style="position:fixed;inset:0;z-index:200;background:rgba(0,0,0,.3)">' +
        '<div style="position:fixed;bottom:0;left:0;right:0;background:#fff;padding:16px">' +
        "<p>Manage cookies</p><button>Decline optional cookies</button> " +
        "<button>Allow all</button></div></div>";
      root.querySelectorAll("button").forEach((b) => b.addEventListener("click", () => {
        document.cookie = "cookie-consent=" + (b.textContent === "Allow all" ? "all" : "necessary") +
          "; path=/";
        this.remove();
      }));
    }
  }
  customElements.define("tiktok-cookie-banner", CookieBanner);
  if (window.top === window && !document.cookie.includes("cookie-consent=")) {
    setTimeout(() => document.body.appendChild(document.createElement("tiktok-cookie-banner")),
      150);
  }
  if (cfg.captcha) {
    const el = document.createElement("div");
    el.id = "captcha-verify-container";
    el.className = "overlay secsdk-captcha-wrapper";
    el.innerHTML = '<div role="dialog"><p>Drag the slider to fit the puzzle</p>' +
      '<div class="captcha-slider">→</div></div>';
    setTimeout(() => document.body.appendChild(el), 200);
  }
  window.addEventListener("load", () => window.replicaStage("load"));
})();
