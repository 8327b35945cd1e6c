// The QR login page: polls until the phone confirms, then the session cookie is set.
(() => {
  async function poll() {
    const resp = await fetch("/passport/web/qr/poll?token=" + encodeURIComponent(window.QR_TOKEN));
    const body = await resp.json();
    if (body.status === "confirmed") { window.location.href = "/foryou"; return; }
    setTimeout(poll, 300);
  }
  poll();
})();
