/*! Tryon try-on widget. One tag on a product page:
 *
 *   <script src="https://YOUR-TRYON/widget.js" defer
 *           data-garment-image="https://cdn.shop.example/d-1042.png"
 *           data-token-url="/tryon-token"></script>
 *
 * A "Try it on" button appears where the tag is. It opens a dialog: the
 * shopper takes or picks a photo, which is shrunk in the browser (at most
 * 1536 px, JPEG) and sent with the garment to POST /generate, authorised by a
 * short-lived token that the shop's own endpoint (data-token-url) hands out.
 * With data-category it is a try-on task (the garment's category, and
 * optionally data-photo-type, data-service and data-variants: 1 to 4
 * pictures, shown side by side).
 * No framework, no build step; styles live in a Shadow DOM, so the page and
 * the widget cannot restyle each other. See the README, "Try-on widget".
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;

  var MAX_SIDE = 1536;
  // POST /generate takes at most 4 MiB; the photo and the garment share it.
  var MAX_IMAGE_CHARS = 1800 * 1024;
  var POLL_MS = 3000;
  var attr = function (name, fallback) { return script.getAttribute("data-" + name) || fallback; };
  var cfg = {
    garment: attr("garment-image", ""),
    tokenURL: attr("token-url", ""),
    api: (attr("api-base", "") || new URL(script.src, location.href).origin).replace(/\/+$/, ""),
    prompt: attr("prompt", "Put the garment from the second image on the person in the first image. Keep their face, pose, body and background."),
    label: attr("label", "Try it on"),
    product: attr("product-name", "this item"),
    sku: attr("sku", ""),
    category: attr("category", ""),
    photoType: attr("photo-type", ""),
    service: attr("service", ""),
    variants: Math.max(1, Math.min(4, parseInt(attr("variants", "1"), 10) || 1))
  };
  // A try-on task needs no prompt: one the shop gives is an extra instruction.
  var promptGiven = script.hasAttribute("data-prompt");

  var CSS = ":host{all:initial;display:inline-block;font:16px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1b1b1f;--a:var(--tryon-accent,#4b3fd6);--af:var(--tryon-accent-text,#fff)}" +
    "*{box-sizing:border-box;font:inherit}" +
    "button,a.btn,label.btn{display:inline-flex;align-items:center;justify-content:center;gap:.4em;min-height:44px;padding:.55em 1.1em;border-radius:10px;border:1px solid #c9c9d2;background:#fff;color:#1b1b1f;cursor:pointer;text-decoration:none;font-weight:600}" +
    ".primary{background:var(--a);border-color:var(--a);color:var(--af)}" +
    "button:disabled{opacity:.55;cursor:not-allowed}" +
    "button:focus-visible,a:focus-visible{outline:3px solid var(--a);outline-offset:2px}" +
    "dialog{width:min(34rem,calc(100vw - 1.5rem));max-height:calc(100vh - 1.5rem);overflow:auto;border:0;border-radius:16px;padding:0;color:#1b1b1f;background:#fff;box-shadow:0 20px 60px rgba(0,0,0,.35)}" +
    "dialog::backdrop{background:rgba(20,20,28,.55)}" +
    "header{display:flex;align-items:center;justify-content:space-between;gap:1rem;padding:1rem 1.2rem .4rem}" +
    "h2{font-size:1.2rem;font-weight:700;margin:0}" +
    ".x{min-width:44px;padding:0;border:0;font-size:1.6rem;line-height:1;background:transparent}" +
    ".body{padding:.4rem 1.2rem 1.2rem}" +
    "p{margin:.3rem 0 .8rem}" +
    ".muted{color:#55555f;font-size:.9rem}" +
    ".pics{display:grid;grid-template-columns:1fr 1fr;gap:.6rem;margin:.4rem 0 .9rem}" +
    ".pics figure{margin:0;background:#f2f2f6;border-radius:10px;overflow:hidden;display:flex;flex-direction:column}" +
    ".pics img{width:100%;height:13rem;object-fit:contain;display:block}" +
    ".pics figcaption{font-size:.8rem;color:#55555f;padding:.3rem .5rem}" +
    ".result img{width:100%;height:auto;max-height:60vh;object-fit:contain;border-radius:10px;display:block;background:#f2f2f6}" +
    ".vs{display:flex;flex-wrap:wrap;gap:.5rem;margin-top:.6rem}.vs button{padding:2px;width:64px;height:80px}.vs img{width:100%;height:100%;object-fit:cover;border-radius:7px}.vs [aria-pressed=true]{border:3px solid var(--a)}" +
    ".row{display:flex;flex-wrap:wrap;gap:.6rem;margin-top:.9rem}" +
    ".err{border:1px solid #b3261e;background:#fdeceb;border-radius:10px;padding:.7em .9em;margin:.2rem 0 .6rem}" +
    ".err strong{color:#8c1d18}.err .tight{margin:.2rem 0 0}" +
    "progress{width:100%;height:10px;accent-color:var(--a)}" +
    ".hidden,[hidden]{display:none!important}" +
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}";

  var host = document.createElement("div");
  host.setAttribute("data-tryon-widget", "");
  script.insertAdjacentElement("afterend", host);
  var root = host.attachShadow({ mode: "open" });
  if (root.adoptedStyleSheets && typeof CSSStyleSheet === "function" && "replaceSync" in CSSStyleSheet.prototype) {
    // A constructed sheet needs no 'unsafe-inline' in the shop's CSP.
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } else {
    var style = document.createElement("style");
    style.textContent = CSS;
    root.appendChild(style);
  }

  // el builds an element: el("button", {class: "primary", onclick: f}, "Go").
  function el(tag, props) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (k) {
      var v = props[k];
      if (k.indexOf("on") === 0) node.addEventListener(k.slice(2), v);
      else if (k === "text") node.textContent = v;
      else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : v);
    });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      if (Array.isArray(c)) node.append.apply(node, c); else node.append(c);
    }
    return node;
  }

  var trigger = el("button", { type: "button", class: "primary", part: "button", "aria-haspopup": "dialog" }, cfg.label);
  var title = el("h2", { id: "t" }, "Try on " + cfg.product);
  var closeBtn = el("button", { type: "button", class: "x", "aria-label": "Close", onclick: close }, "×");
  var live = el("p", { class: "sr", role: "status", "aria-live": "polite" });
  var body = el("div", { class: "body" });
  var dialog = el("dialog", { "aria-labelledby": "t", "aria-describedby": "d" }, el("header", {}, title, closeBtn), body, live);
  var picker = el("input", { type: "file", accept: "image/*", class: "hidden", tabindex: "-1", "aria-hidden": "true" });
  var camera = el("input", { type: "file", accept: "image/*", capture: "user", class: "hidden", tabindex: "-1", "aria-hidden": "true" });
  root.append(trigger, dialog, picker, camera);

  var state = { photo: null, width: 0, height: 0, token: null, tokenExpires: 0, garment: null, busy: false, url: null, urls: [], timer: null };

  trigger.addEventListener("click", open);
  picker.addEventListener("change", function () { choose(picker); });
  camera.addEventListener("change", function () { choose(camera); });
  dialog.addEventListener("cancel", function (ev) { ev.preventDefault(); close(); });
  dialog.addEventListener("keydown", trapFocus);

  function open() {
    if (state.url) showResult(); else if (state.photo) showPreview(); else showStart();
    if (!dialog.open) {
      if (dialog.showModal) dialog.showModal(); else dialog.setAttribute("open", "");
    }
    (dialog.querySelector("[autofocus]") || closeBtn).focus();
  }

  function close() {
    if (state.timer) { clearTimeout(state.timer); state.timer = null; }
    if (dialog.close) dialog.close(); else dialog.removeAttribute("open");
    trigger.focus();
  }

  // trapFocus keeps Tab inside the dialog, also where the browser's modal
  // dialog would let it reach the address bar and come back on the page.
  function trapFocus(ev) {
    if (ev.key !== "Tab") return;
    var items = Array.prototype.filter.call(dialog.querySelectorAll("button,a[href],input:not([tabindex='-1'])"), function (n) {
      return !n.disabled && n.offsetParent !== null;
    });
    if (!items.length) return;
    var first = items[0], last = items[items.length - 1], active = root.activeElement;
    if (ev.shiftKey && (active === first || !dialog.contains(active))) { ev.preventDefault(); last.focus(); }
    else if (!ev.shiftKey && (active === last || !dialog.contains(active))) { ev.preventDefault(); first.focus(); }
  }

  function say(text) { live.textContent = text; }

  // render replaces the dialog's body and moves focus to what the user
  // should do next.
  function render(nodes, focus) {
    body.replaceChildren.apply(body, nodes.filter(Boolean));
    focus = focus || closeBtn;
    Array.prototype.forEach.call(dialog.querySelectorAll("[autofocus]"), function (n) { n.removeAttribute("autofocus"); });
    focus.setAttribute("autofocus", "");
    focus.focus();
  }

  function garmentFigure() {
    return cfg.garment ? el("figure", {}, el("img", { src: cfg.garment, alt: "The garment: " + cfg.product }), el("figcaption", {}, "The garment")) : null;
  }

  function photoButtons() {
    var pick = el("button", { type: "button", class: state.photo ? "" : "primary", onclick: function () { picker.click(); } }, state.photo ? "Choose another photo" : "Choose a photo");
    var take = el("button", { type: "button", onclick: function () { camera.click(); } }, "Take a photo");
    // Phones open the camera for capture; elsewhere the picker does it all.
    var touch = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;
    return touch ? [take, pick] : [pick];
  }

  function showStart(message) {
    var buttons = photoButtons();
    render([
      message || null,
      el("p", { id: "d" }, "Take or choose a photo of yourself, standing and facing the camera, to see " + cfg.product + " on you."),
      el("div", { class: "pics" }, garmentFigure()),
      el("p", { class: "muted" }, "Your photo is used only to make this picture."),
      el("div", { class: "row" }, buttons)
    ], buttons[0]);
  }

  function showPreview(message) {
    var go = el("button", { type: "button", class: "primary", onclick: generate }, "Generate");
    render([
      message || null,
      el("p", { id: "d" }, "Ready: press Generate to see " + cfg.product + " on you."),
      el("div", { class: "pics" }, el("figure", {}, el("img", { src: state.photo, alt: "Your photo" }), el("figcaption", {}, "Your photo")), garmentFigure()),
      el("div", { class: "row" }, go, photoButtons())
    ], go);
  }

  function showWorking(text) {
    render([
      el("p", { id: "d" }, text),
      el("progress", { "aria-label": text }),
      el("p", { class: "muted" }, "This usually takes 10 to 30 seconds.")
    ]);
    say(text);
  }

  // showResult shows the picture, and with several variants a row of
  // them to choose the one shown (and downloaded); pick is the variant
  // button to keep the focus on after a choice.
  function showResult(pick) {
    var dl = el("button", { type: "button", class: "primary", onclick: download }, "Download");
    var n = state.urls.length, at = Math.max(0, state.urls.indexOf(state.url)), focus = dl;
    var picks = n > 1 ? el("div", { class: "vs", role: "group", "aria-label": "Variants" }, state.urls.map(function (u, i) {
      var b = el("button", { type: "button", "aria-pressed": String(i === at), "aria-label": "Variant " + (i + 1) + " of " + n,
        onclick: function () { state.url = u; showResult(i); } }, el("img", { src: u, alt: "" }));
      if (i === pick) focus = b;
      return b;
    })) : null;
    render([
      el("p", { id: "d" }, n > 1 ? "Here are " + n + " variants of " + cfg.product + " on you (generated pictures): choose one below." :
        "Here is " + cfg.product + " on you (a generated picture)."),
      el("div", { class: "result" }, el("img", { src: state.url, alt: "You wearing " + cfg.product + " (generated" + (n > 1 ? ", variant " + (at + 1) + " of " + n : "") + ")" })),
      picks,
      el("div", { class: "row" }, dl,
        el("button", { type: "button", onclick: generate }, "Try again"),
        el("button", { type: "button", onclick: function () { picker.click(); } }, "Use another photo"))
    ], focus);
    if (pick === undefined) say(n > 1 ? n + " pictures are ready." : "Your picture is ready.");
  }

  // showError explains what went wrong and offers what can be done; wait
  // holds the retry button back for a rate limit's Retry-After.
  function showError(title, text, retry, wait) {
    var box = el("div", { class: "err", role: "alert" }, el("strong", {}, title), el("p", { class: "tight" }, text));
    var nodes = [box, el("p", { id: "d", class: "sr" }, title + " " + text)];
    var again = null;
    if (retry) {
      again = el("button", { type: "button", class: "primary", onclick: generate }, "Try again");
      if (wait > 0) countdown(again, wait);
      nodes.push(el("div", { class: "row" }, again, photoButtons()));
    } else {
      nodes.push(el("div", { class: "row" }, el("button", { type: "button", onclick: close }, "Close")));
    }
    render(nodes, again && !again.disabled ? again : null);
  }

  function countdown(button, seconds) {
    var left = Math.ceil(seconds);
    button.disabled = true;
    (function tick() {
      if (left <= 0) { button.disabled = false; button.textContent = "Try again"; return; }
      button.textContent = "Try again in " + left + " s";
      left--;
      state.timer = setTimeout(tick, 1000);
    })();
  }

  // choose reads the photo the user picked and shrinks it in the browser.
  function choose(input) {
    var file = input.files && input.files[0];
    input.value = "";
    if (!file) return;
    if (!/^image\//.test(file.type)) {
      showStart(el("div", { class: "err", role: "alert" }, el("strong", {}, "That file is not a photo."), el("p", { class: "tight" }, "Choose a JPEG, PNG or WebP picture.")));
      return;
    }
    state.url = null;
    showWorking("Preparing your photo…");
    shrink(file).then(function (p) {
      state.photo = p.url; state.width = p.width; state.height = p.height;
      showPreview();
    }, function () {
      showStart(el("div", { class: "err", role: "alert" }, el("strong", {}, "That photo could not be read."), el("p", { class: "tight" }, "Try another one (JPEG, PNG or WebP).")));
    });
  }

  function decode(blob) {
    if (window.createImageBitmap) return createImageBitmap(blob, { imageOrientation: "from-image" }).catch(function () { return createImageBitmap(blob); });
    return new Promise(function (resolve, reject) {
      var img = new Image(), u = URL.createObjectURL(blob);
      img.onload = function () { URL.revokeObjectURL(u); resolve(img); };
      img.onerror = function () { URL.revokeObjectURL(u); reject(new Error("decode")); };
      img.src = u;
    });
  }

  // shrink draws an image at most MAX_SIDE pixels on its longer side onto a
  // white canvas and encodes it as a JPEG data: URL small enough for the
  // request, lowering the quality until it fits.
  function shrink(blob) {
    return decode(blob).then(function (img) {
      var w = img.width, h = img.height, scale = Math.min(1, MAX_SIDE / Math.max(w, h));
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(w * scale));
      canvas.height = Math.max(1, Math.round(h * scale));
      var ctx = canvas.getContext("2d");
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
      if (img.close) img.close();
      var url, q = 0.9;
      do { url = canvas.toDataURL("image/jpeg", q); q -= 0.15; } while (url.length > MAX_IMAGE_CHARS && q > 0.3);
      if (url.length > MAX_IMAGE_CHARS) throw new Error("too large");
      return { url: url, width: canvas.width, height: canvas.height };
    });
  }

  // garmentImage is what POST /generate gets for the garment: https and
  // data: URLs as they are (Tryon fetches https itself); anything else (a
  // path on the shop, plain http) is fetched here and sent inline, since
  // Tryon only fetches public addresses.
  function garmentImage() {
    if (state.garment) return Promise.resolve(state.garment);
    var u = new URL(cfg.garment, location.href);
    if (u.protocol === "https:" || u.protocol === "data:") return Promise.resolve(state.garment = u.href);
    return fetch(u.href, { credentials: "same-origin" }).then(function (res) {
      if (!res.ok) throw new Error("garment " + res.status);
      return res.blob();
    }).then(shrink).then(function (p) { return (state.garment = p.url); });
  }

  // token asks the shop's endpoint for a token (sending the shop's cookies,
  // so it knows the shopper), unless the one in hand is still good.
  function token(fresh) {
    if (!fresh && state.token && Date.now() < state.tokenExpires - 30000) return Promise.resolve(state.token);
    return fetch(cfg.tokenURL, { method: "POST", credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (res) {
      if (!res.ok) throw tokenError(res.status);
      return res.json();
    }).then(function (j) {
      var t = j && (j.token || (j.data && j.data.token));
      if (typeof t !== "string" || !t) throw tokenError(0);
      var exp = j.expires_at || (j.data && j.data.expires_at);
      state.token = t;
      state.tokenExpires = exp ? Date.parse(exp) : Date.now() + 5 * 60000;
      return t;
    });
  }
  function tokenError(status) {
    var e = new Error("token");
    e.tokenStatus = status;
    return e;
  }

  function call(method, path, body, fresh) {
    return token(fresh).then(function (t) {
      var headers = { Authorization: "Bearer " + t };
      if (body) { headers["Content-Type"] = "application/json"; headers["Idempotency-Key"] = body.key; }
      return fetch(cfg.api + path, { method: method, headers: headers, body: body ? body.json : undefined, cache: "no-store" });
    });
  }

  // request calls Tryon, and on a 401 (an expired or revoked token) gets a
  // fresh token and tries once more.
  function request(method, path, body) {
    return call(method, path, body, false).then(function (res) {
      return res.status === 401 ? call(method, path, body, true) : res;
    }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (env) { return { res: res, env: env }; });
    });
  }

  function generate() {
    if (state.busy || !state.photo) return;
    if (state.timer) { clearTimeout(state.timer); state.timer = null; }
    state.busy = true;
    state.url = null;
    showWorking("Creating your picture…");
    var started = Date.now();
    garmentImage().then(function (garment) {
      var payload = { person_image: state.photo, width: clamp(state.width), height: clamp(state.height) };
      if (cfg.category) {
        payload.task = "tryon";
        payload.garments = [{ image: garment, category: cfg.category }];
        if (cfg.photoType) payload.garments[0].photo_type = cfg.photoType;
        if (promptGiven) payload.prompt = cfg.prompt;
      } else {
        payload.prompt = cfg.prompt;
        payload.garment_image = garment;
      }
      if (cfg.service) payload.service = cfg.service;
      if (cfg.variants > 1) payload.num_outputs = cfg.variants;
      if (cfg.sku) payload.metadata = { sku: cfg.sku };
      var key = "tryon-widget-" + (crypto.randomUUID ? crypto.randomUUID() : Date.now() + "-" + Math.random().toString(36).slice(2));
      return request("POST", "/generate", { json: JSON.stringify(payload), key: key });
    }).then(function follow(r) {
      var gen = r.env && r.env.data;
      if (r.res.status === 202 || (r.res.ok && gen && gen.status === "processing")) {
        var where = r.res.headers.get("Location") || "/generate/" + gen.id;
        return new Promise(function (resolve) { state.timer = setTimeout(resolve, POLL_MS); }).then(function () {
          showWorking("Still working… " + Math.round((Date.now() - started) / 1000) + " s");
          return request("GET", where).then(follow);
        });
      }
      return r;
    }).then(function (r) {
      state.busy = false;
      var gen = r.env && r.env.data;
      var outs = gen ? (gen.outputs && gen.outputs.length ? gen.outputs : [gen.output]).filter(function (o) { return o && o.url; }) : [];
      if (r.res.ok && outs.length && gen.status === "succeeded") {
        state.urls = outs.map(function (o) { return o.url; });
        state.url = state.urls[0];
        showResult();
        return;
      }
      explain(r);
    }).catch(function (err) {
      state.busy = false;
      if (err && err.message === "token") {
        showError("Try-on is not available right now.", "The shop could not start a try-on session" + (err.tokenStatus ? " (" + err.tokenStatus + ")" : "") + ". Please try again later.", true, 0);
      } else if (err && /^garment/.test(err.message)) {
        showError("The garment picture could not be loaded.", "Please try again later.", true, 0);
      } else {
        showError("Could not reach the try-on service.", "Check your connection and try again.", true, 0);
      }
    });
  }

  function clamp(n) { return Math.max(64, Math.min(4096, n || 1024)); }

  // explain turns an error answer into words for a shopper, from its code.
  function explain(r) {
    var env = r.env || {}, gen = env.data, code = env.code || (gen && gen.error && gen.error.code) || "";
    var retryAfter = Number(r.res.headers.get("Retry-After")) || 0;
    switch (code) {
      case "rate_limited":
      case "concurrency_limited":
        return showError("Too many try-ons right now.", retryAfter ? "You can try again in " + retryAfter + (retryAfter === 1 ? " second." : " seconds.") : "Please wait a moment and try again.", true, retryAfter);
      case "insufficient_credits":
        return showError("Try-on is not available right now.", "The shop's try-on service has run out of credit. Please try again later.", false);
      case "content_blocked":
        return showError("This photo could not be used.", "The safety filter refused it. Try another photo: just you, fully clothed, facing the camera.", true, 0);
      case "unauthorized":
        return showError("Your try-on session has expired.", "Reload the page and try again.", false);
      case "forbidden":
        return showError("Try-on is not available on this page.", "The shop has not enabled it here.", false);
      case "payload_too_large":
        return showError("This photo is too large.", "Choose a smaller photo.", true, 0);
      case "invalid_request":
        // A setting of the shop's (service, category, variants...) refused:
        // another photo would not help.
        var d = (env.details || []).filter(function (x) { return x.field !== "person_image"; })[0];
        if (d) return showError("Try-on is not set up right on this page.", "The shop's settings were refused (" + d.field + " " + d.message + ").", false);
        return showError("This photo could not be used.", (env.error || "The request was refused") + ". Try another photo.", true, 0);
      case "generation_timeout":
        return showError("That took too long.", "The service is busy. Try again in a moment.", true, retryAfter);
    }
    showError("Something went wrong.", (env.error || "The try-on service failed") + ". Try again in a moment.", true, retryAfter);
  }

  // download saves the picture; where the browser cannot fetch it (another
  // origin without CORS) it opens it instead.
  function download() {
    var u = state.url;
    fetch(u).then(function (res) {
      if (!res.ok) throw new Error("download");
      return res.blob();
    }).then(function (blob) {
      var a = el("a", { href: URL.createObjectURL(blob), download: "try-on" + ({ "image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp" }[blob.type] || "") });
      root.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(a.href); }, 10000);
      say("Downloaded.");
    }).catch(function () { window.open(u, "_blank", "noopener"); });
  }
})();
