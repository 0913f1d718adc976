// The seller's dashboard (admin.html): signs in with Cognito, then shows what the store's
// admin API answers. Amounts, prices, link states, receipts and times arrive formatted by the
// store, in each currency's own exponent; this script puts them on the page as they are.
"use strict";

(() => {
  const settings = document.currentScript.dataset;
  const COGNITO_URL = settings.cognitoUrl;
  const CLIENT_ID = settings.clientId;
  const SITE_NAME = settings.siteName;
  // The base URL that served the page: "" at a root, ".../api" on API Gateway's URL. Every
  // call to the store goes under it; the page holds no root-absolute path.
  const BASE = (settings.base || "").replace(/\/+$/, "");
  // Tokens live in this tab's sessionStorage only: gone with the tab, never in localStorage
  // or a URL. The refresh token keeps a seller signed in past the ID token's hour.
  const KEYS = { id: "bull.idToken", access: "bull.accessToken", refresh: "bull.refreshToken", expires: "bull.expiresAt" };
  const REFRESH_EARLY_MS = 5 * 60 * 1000;
  const STEPS = ["signin", "newpw", "mfa", "forgot", "reset"];
  let pending = null; // a sign-in Cognito asked one more step of: {challenge, session, username, email}
  let refreshing = null; // the one REFRESH_TOKEN_AUTH in flight
  let products = null; // the last product list, redrawn when the report's sold counts arrive
  let sold = {};
  let chartData = null; // the last report's days and axis, redrawn when the chart's width changes

  const $ = (id) => document.getElementById(id);
  const stored = (key) => sessionStorage.getItem(key);

  function text(node, value) {
    node.textContent = value == null ? "" : String(value);
    return node;
  }

  function el(tag, className, value) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (value != null) text(node, value);
    return node;
  }

  function button(label, className, onClick) {
    const node = el("button", className, label);
    node.type = "button";
    node.addEventListener("click", onClick);
    return node;
  }

  function row(cells) {
    const tr = el("tr");
    cells.forEach((cell) => tr.appendChild(cell));
    return tr;
  }

  // A table cell that, on a phone, becomes a labelled line of its row's card.
  function cell(label, className, value) {
    const td = el("td", className, value);
    if (label) td.dataset.label = label;
    return td;
  }

  function keepItem(key, value) {
    if (value) sessionStorage.setItem(key, value);
    else sessionStorage.removeItem(key);
  }

  // -- Cognito's JSON API -----------------------------------------------------------------

  async function cognito(action, body) {
    let answer;
    try {
      answer = await fetch(COGNITO_URL, {
        method: "POST",
        headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": `AWSCognitoIdentityProviderService.${action}` },
        body: JSON.stringify(body),
      });
    } catch {
      throw new Error("The sign-in service cannot be reached. Check the connection and try again.");
    }
    const raw = await answer.text();
    let parsed = {};
    try {
      parsed = raw ? JSON.parse(raw) : {};
    } catch {
      parsed = {};
    }
    if (!answer.ok) {
      const err = new Error(parsed.message || parsed.Message || `The sign-in service answered ${answer.status}.`);
      err.code = String(parsed.__type || "").split("#").pop();
      throw err;
    }
    return parsed;
  }

  const TOO_MANY = "Too many attempts. Wait a few minutes and try again.";
  const FRIENDLY = {
    NotAuthorizedException: "Wrong email or password.",
    UserNotFoundException: "Wrong email or password.",
    CodeMismatchException: "That code is wrong. Check it and try again.",
    EnableSoftwareTokenMFAException: "That code is wrong. Check the app and try again.",
    ExpiredCodeException: "That code is wrong or has expired. Send a new one.",
    InvalidPasswordException: "Choose a stronger password: at least 12 characters, with upper- and lower-case letters and a digit.",
    PasswordResetRequiredException: "This account must reset its password: use \u201cForgot password?\u201d.",
    UserNotConfirmedException: "This account is not confirmed yet.",
    LimitExceededException: TOO_MANY,
    TooManyRequestsException: TOO_MANY,
    TooManyFailedAttemptsException: TOO_MANY,
  };

  function friendly(err, overrides = {}) {
    if (err.code === "NotAuthorizedException" && /session/i.test(err.message)) return "That took too long. Sign in again.";
    if (err.code === "NotAuthorizedException" && /disabled/i.test(err.message)) return "This account is disabled.";
    return overrides[err.code] || FRIENDLY[err.code] || err.message;
  }

  // -- signing in, step by step -------------------------------------------------------------

  function showStep(step) {
    STEPS.forEach((name) => $(`${name}-form`).classList.toggle("hidden", name !== step));
    const form = $(`${step}-form`);
    text($("signin-title"), form.dataset.title);
    text($(`${step}-error`), "");
    form.querySelector("input")?.focus();
  }

  function keep(result) {
    keepItem(KEYS.id, result.IdToken);
    keepItem(KEYS.access, result.AccessToken);
    if (result.RefreshToken) keepItem(KEYS.refresh, result.RefreshToken);
    keepItem(KEYS.expires, String(Date.now() + (result.ExpiresIn || 3600) * 1000));
    showWho();
  }

  async function signIn(email, password) {
    const answer = await cognito("InitiateAuth", {
      AuthFlow: "USER_PASSWORD_AUTH",
      ClientId: CLIENT_ID,
      AuthParameters: { USERNAME: email, PASSWORD: password },
    });
    nextStep(answer, email);
  }

  // Cognito either signs the seller in or asks one more step (a new password, an MFA code).
  function nextStep(answer, email) {
    pending = null;
    if (answer.AuthenticationResult) {
      keep(answer.AuthenticationResult);
      showDashboard();
      return;
    }
    const name = answer.ChallengeName;
    const params = answer.ChallengeParameters || {};
    if (name !== "NEW_PASSWORD_REQUIRED" && name !== "SOFTWARE_TOKEN_MFA") {
      throw new Error(`This account needs a sign-in step the dashboard cannot do (${name}).`);
    }
    const username = params.USER_ID_FOR_SRP || params.USERNAME || email;
    pending = { challenge: name, session: answer.Session, email, username };
    showStep(name === "NEW_PASSWORD_REQUIRED" ? "newpw" : "mfa");
  }

  async function answerChallenge(responses) {
    const step = pending;
    if (!step) throw new Error("Sign in again.");
    const answer = await cognito("RespondToAuthChallenge", {
      ChallengeName: step.challenge,
      ClientId: CLIENT_ID,
      Session: step.session,
      ChallengeResponses: { ...responses, USERNAME: step.username },
    });
    nextStep(answer, step.email);
  }

  // A new ID token from the refresh token; one at a time however many calls got a 401.
  function refresh() {
    const refreshToken = stored(KEYS.refresh);
    if (!refreshToken) return Promise.reject(new Error("no refresh token"));
    refreshing ??= cognito("InitiateAuth", {
      AuthFlow: "REFRESH_TOKEN_AUTH",
      ClientId: CLIENT_ID,
      AuthParameters: { REFRESH_TOKEN: refreshToken },
    })
      .then((answer) => {
        if (!answer.AuthenticationResult) throw new Error("no tokens");
        keep(answer.AuthenticationResult);
      })
      .finally(() => {
        refreshing = null;
      });
    return refreshing;
  }

  // Refresh a little before the hour is up; if that fails the call's own 401 decides.
  async function fresh() {
    const expires = Number(stored(KEYS.expires) || 0);
    if (stored(KEYS.refresh) && expires && expires - Date.now() < REFRESH_EARLY_MS) {
      await refresh().catch(() => {});
    }
  }

  function ended() {
    signOut("Your session has ended. Sign in again.");
    return new Error("signed out");
  }

  // A call to the store: `route` goes under BASE, so every call stays under the page's URL.
  async function api(method, route, body) {
    await fresh();
    return send(method, BASE + route, body, true);
  }

  // A CSV the store answers in pages (`X-Next-Cursor`), joined under the first page's header.
  async function csvPages(route) {
    let text = "";
    let cursor = null;
    do {
      await fresh();
      const url = BASE + route + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : "");
      const page = await send("GET", url, null, true, true);
      text += text ? page.content.slice(page.content.indexOf("\r\n") + 2) : page.content;
      cursor = page.next;
    } while (cursor);
    return text;
  }

  async function send(method, url, body, mayRefresh, paged = false) {
    const options = { method, headers: { Authorization: `Bearer ${stored(KEYS.id)}` } };
    if (body) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const answer = await fetch(url, options);
    if (answer.status === 401) {
      if (!mayRefresh || !stored(KEYS.refresh)) throw ended();
      try {
        await refresh();
      } catch {
        throw ended();
      }
      return send(method, url, body, false, paged);
    }
    const isJson = (answer.headers.get("Content-Type") || "").includes("json");
    const content = await (isJson ? answer.json() : answer.text());
    if (!answer.ok) throw new Error(content?.error?.message || `Request failed: ${answer.status}`);
    return paged ? { content, next: answer.headers.get("X-Next-Cursor") } : content;
  }

  // Sign-out revokes the refresh token at Cognito (RevokeToken), so that a copy of it cannot
  // mint new tokens for the rest of its 30 days. Whatever Cognito answers, or if it does not
  // answer within a few seconds, the tab signs out all the same.
  async function revokeRefreshToken() {
    const token = stored(KEYS.refresh);
    if (!token) return;
    const patience = new Promise((resolve) => setTimeout(resolve, 5000));
    const revoked = cognito("RevokeToken", { Token: token, ClientId: CLIENT_ID });
    await Promise.race([revoked, patience]).catch(() => {});
  }

  function signOut(message) {
    Object.values(KEYS).forEach((key) => sessionStorage.removeItem(key));
    pending = null;
    $("dashboard").classList.add("hidden");
    $("signin").classList.remove("hidden");
    $("signout-button").classList.add("hidden");
    text($("who"), "");
    showStep("signin");
    text($("signin-note"), "");
    text($("signin-error"), message || "");
  }

  function showWho() {
    try {
      const claims = stored(KEYS.id).split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      text($("who"), JSON.parse(atob(claims)).email || "");
    } catch {
      // the name only: the store checks the token
    }
  }

  function showDashboard() {
    $("signin").classList.add("hidden");
    $("dashboard").classList.remove("hidden");
    $("signout-button").classList.remove("hidden");
    showWho();
    loadAll();
    loadSecurity();
  }

  // -- two-factor sign-in (TOTP) ------------------------------------------------------------

  // Cognito's user calls take the access token; an expired one is refreshed once.
  async function userCall(action, body) {
    await fresh();
    try {
      return await cognito(action, { ...body, AccessToken: stored(KEYS.access) });
    } catch (err) {
      if (err.code !== "NotAuthorizedException" || !stored(KEYS.refresh)) throw err;
      await refresh();
      return cognito(action, { ...body, AccessToken: stored(KEYS.access) });
    }
  }

  function showMfaOn() {
    text($("mfa-state"), "Two-factor sign-in is on: signing in asks for a code from your authenticator app.");
    $("mfa-start-button").classList.add("hidden");
    $("totp-form").classList.add("hidden");
  }

  async function loadSecurity() {
    try {
      const user = await userCall("GetUser", {});
      if ((user.UserMFASettingList || []).includes("SOFTWARE_TOKEN_MFA")) showMfaOn();
    } catch {
      // shown as off; turning it on says what fails
    }
  }

  function otpauthUri(secret, account) {
    const label = encodeURIComponent(`${SITE_NAME}:${account}`).replace(/%40/g, "@").replace(/%3A/g, ":");
    const issuer = encodeURIComponent(SITE_NAME);
    return `otpauth://totp/${label}?secret=${encodeURIComponent(secret)}&issuer=${issuer}&algorithm=SHA1&digits=6&period=30`;
  }

  // -- the figures ------------------------------------------------------------------------------

  function rangeQuery(extra = {}) {
    const query = new URLSearchParams(extra);
    if ($("range-from").value) query.set("from", $("range-from").value);
    if ($("range-to").value) query.set("to", $("range-to").value);
    return String(query) ? `?${query}` : "";
  }

  // A failure shown next to the control or section that caused it (`where`: an element id).
  function showError(where) {
    return (err) => {
      if (err.message !== "signed out") text($(where), err.message);
    };
  }

  function clearMessages(...ids) {
    ids.forEach((id) => text($(id), ""));
  }

  function loadAll() {
    clearMessages("range-error", "purchases-error", "products-error");
    return Promise.all([
      loadReport().catch(showError("range-error")),
      loadPurchases().catch(showError("purchases-error")),
      loadProducts().catch(showError("products-error")),
    ]);
  }

  async function loadReport() {
    const report = await api("GET", `/reports${rangeQuery()}`);
    $("range-from").value = report.from;
    $("range-to").value = report.to;
    text($("range-note"), `Days in ${report.timezone}`);
    text($("totals-orders"), report.totals.orders);
    text($("totals-gross"), report.totals.gross);
    text($("totals-refunded"), report.totals.refunded);
    text($("totals-net"), report.totals.net);
    chartData = { days: report.days, axis: report.axis };
    drawChart(report.days, report.axis);
    sold = Object.fromEntries(report.products.map((p) => [p.id, p.orders]));
    if (products) renderProducts(products);
  }

  // Bars of gross per day (refunds in red) on the scale the store chose. Drawn at the chart's
  // own width in pixels (never scaled down), so its labels keep their size on a phone; the
  // dates thin out to what fits.
  function drawChart(days, axis) {
    const NS = "http://www.w3.org/2000/svg";
    const W = Math.max(240, Math.floor($("chart").clientWidth || 760));
    const [H, L, B, T] = [W < 560 ? 200 : 240, 60, 28, 10];
    const plotW = W - L - 8, plotH = H - B - T, slot = plotW / days.length;
    const height = (cents) => (plotH * cents) / axis.top_cents;
    const add = (parent, tag, attrs, content) => {
      const node = document.createElementNS(NS, tag);
      Object.entries(attrs).forEach(([name, value]) => node.setAttribute(name, value));
      if (content != null) node.textContent = content;
      return parent.appendChild(node);
    };
    const svg = add(document.createDocumentFragment(), "svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img" });
    // gridlines from 0 to the top, each with its label
    axis.labels.forEach((label, i) => {
      const y = T + plotH - (plotH * i) / (axis.labels.length - 1);
      add(svg, "line", { x1: L, x2: W - 8, y1: y, y2: y, class: "grid" });
      add(svg, "text", { x: L - 6, y: y + 4, "text-anchor": "end" }, label);
    });
    const fits = Math.max(2, Math.floor(plotW / 52)); // an "MM-DD" label is ~40 px at 12 px
    const labelEvery = Math.ceil(days.length / fits);
    days.forEach((day, i) => {
      const x = L + i * slot + slot * 0.15, w = Math.max(slot * 0.7, 1);
      const h = height(day.gross_cents);
      const bar = add(svg, "rect", { x, y: T + plotH - h, width: w, height: h, class: "bar", "data-date": day.date, "data-gross": day.gross_cents });
      add(bar, "title", {}, `${day.date}: ${day.orders} orders, ${day.gross}${day.refunded_cents ? `, refunded ${day.refunded}` : ""}`);
      if (day.refunded_cents > 0) {
        const r = height(day.refunded_cents);
        add(svg, "rect", { x, y: T + plotH - r, width: w, height: r, class: "refund" });
      }
      const last = i === days.length - 1;
      if ((i % labelEvery === 0 && (last || days.length - 1 - i >= labelEvery)) || last) {
        // the last date ends at its bar's right edge, so it never runs off the chart
        const at = last ? { x: Math.min(x + w / 2 + 20, W - 2), "text-anchor": "end" } : { x: x + w / 2, "text-anchor": "middle" };
        add(svg, "text", { ...at, y: H - 10 }, day.date.slice(5));
      }
    });
    $("chart").replaceChildren(svg);
  }

  let chartWidth = 0;
  new ResizeObserver(() => {
    const width = Math.floor($("chart").clientWidth);
    if (!chartData || !width || width === chartWidth) return;
    chartWidth = width;
    drawChart(chartData.days, chartData.axis);
  }).observe($("chart"));

  // The range's sales per day (`/reports`) or its orders one by one (`/admin/orders`), as CSV.
  async function downloadCsv(path = "/reports", name = "sales.csv") {
    try {
      const csv = await csvPages(`${path}${rangeQuery({ format: "csv" })}`);
      const a = el("a");
      a.href = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
      a.download = name;
      document.body.appendChild(a);
      a.click();
      a.remove();
    } catch (err) {
      showError("range-error")(err);
    }
  }

  // -- products -------------------------------------------------------------------------------

  async function loadProducts() {
    const body = await api("GET", "/admin/products");
    products = body.products;
    renderProducts(products);
  }

  const productPath = (id) => `/admin/products/${encodeURIComponent(id)}`;

  function renderProducts(list) {
    $("products").replaceChildren(...list.map(productRow));
  }

  function productRow(p) {
    const name = cell(null, "lead", p.name);
    if (!p.active) name.append(" ", el("span", "pill replaced", "off sale"));
    const waiting = p.pending_filename ? ` (new file ${p.pending_filename} not uploaded yet)` : "";
    name.appendChild(el("div", "muted-small file-version", `v${p.file_version} \u00b7 ${p.filename}${waiting}`));
    if (p.license_keys) {
      name.appendChild(el("div", "muted-small license-keys", `License keys \u00b7 ${p.activation_limit} activations each`));
    }

    const toggle = button(p.active ? "Unlist" : "List", "secondary small", () => {
      clearMessages("products-error", "products-note");
      api("PATCH", productPath(p.id), { active: !p.active })
        .then(loadProducts)
        .then(() => text($("products-note"), `${p.name} is ${p.active ? "off sale" : "on sale"}.`))
        .catch(showError("products-error"));
    });
    toggle.title = p.active ? "Take it off the storefront (links already sold keep working)" : "Put it back on sale";
    const picker = el("input", "hidden");
    picker.type = "file";
    picker.addEventListener("change", () => newFile(p, picker.files[0]));
    const replace = button("New file", "secondary small", () => picker.click());
    replace.title = "Upload a new version; buyers get it once the upload has landed";
    const actions = el("td", "actions");
    actions.append(toggle, replace, picker);
    // Pay what you want: the minimum, then the suggested price (both formatted by the server).
    const price = p.min_price ? `${p.min_price}+ (suggested ${p.price})` : p.price;
    const tr = row([name, cell("Price", "num", price), cell("Sold", "num", sold[p.id] || 0), actions]);
    tr.dataset.productId = p.id;
    return tr;
  }

  async function newFile(product, file) {
    if (!file) return;
    clearMessages("products-error");
    text($("products-note"), `Uploading ${file.name}…`);
    try {
      const body = await api("PATCH", productPath(product.id), { filename: file.name });
      await upload(body, file, { publish_file: true });
      text($("products-note"), `${product.name}: buyers now get ${file.name}.`);
    } catch (err) {
      text($("products-note"), "");
      showError("products-error")(err);
    }
    await loadProducts().catch(showError("products-error"));
  }

  // PUT the file to its presigned URL, then PATCH `then` (go on sale, or publish the new
  // version): the store checks that the file has landed before either.
  async function upload(body, file, then) {
    const answer = await fetch(body.upload.url, { method: "PUT", body: file });
    if (!answer.ok) throw new Error(`The upload of ${file.name} failed (${answer.status}); buyers see no change. Try again.`);
    return api("PATCH", productPath(body.product.id), then);
  }

  // The price goes as typed ("19.99", "1500" in yen): the store reads it in its currency.
  async function addProduct() {
    const file = $("product-file").files[0];
    const status = $("product-status");
    $("product-button").disabled = true;
    text($("product-error"), "");
    text(status, "Saving…");
    try {
      const fields = {
        name: $("product-name").value.trim(),
        description: $("product-description").value.trim(),
        currency: $("product-currency").value,
        price: $("product-price").value.trim(),
        filename: file.name,
      };
      const minimum = $("product-min-price").value.trim();
      if (minimum) fields.min_price = minimum; // pay what you want from this, as typed
      const body = await api("POST", "/admin/products", fields);
      text(status, `Uploading ${file.name}…`);
      await upload(body, file, { active: true });
      $("product-form").reset();
      await loadProducts();
      text(status, `${body.product.name} is on sale.`);
    } catch (err) {
      loadProducts().catch(showError("products-error"));
      text(status, "");
      showError("product-error")(err);
    } finally {
      $("product-button").disabled = false;
    }
  }

  // -- purchases ------------------------------------------------------------------------------

  const purchasePath = (id) => `/admin/purchases/${encodeURIComponent(id)}`;

  async function loadPurchases(email) {
    const query = email ? `?${new URLSearchParams({ email })}` : "";
    const { purchases } = await api("GET", `/admin/purchases${query}`);
    renderPurchases(purchases, email);
  }

  const pill = (p) => el("span", `pill ${p.state}`, p.state_label);

  function renderPurchases(purchases, email) {
    if (!purchases.length) {
      const empty = el("td", "muted", email ? `No purchases by ${email}.` : "No purchases yet.");
      empty.colSpan = 6;
      $("purchases").replaceChildren(row([empty]));
      return;
    }
    $("purchases").replaceChildren(...purchases.map(purchaseRow));
  }

  function purchaseRow(p) {
    const paid = cell("Paid", "num", p.amount);
    if (p.refunded_cents) paid.append(" ", el("span", "muted-small", `\u2212${p.refunded}`));
    const state = cell("Link");
    state.appendChild(pill(p));
    const open = el("td", "actions");
    open.appendChild(button("Open", "secondary small", () => showPurchase(p.id, true)));
    // "2026-11-25 15:35 UTC": the date and the time each on one line, never three
    const when = cell("When", "when");
    const [day, ...time] = String(p.created).split(" ");
    when.append(el("span", "nowrap", day), " ", el("span", "nowrap", time.join(" ")));
    const tr = row([when, cell("Buyer", null, p.email || "–"), cell("Product", null, p.product_name), paid, state, open]);
    tr.dataset.purchaseId = p.id;
    return tr;
  }

  // The purchase opened next to the list; on a phone the page scrolls to it.
  async function showPurchase(id, reveal) {
    clearMessages("purchases-error");
    try {
      const { purchase } = await api("GET", purchasePath(id));
      renderDetail(purchase);
      if (reveal) $("detail").scrollIntoView({ block: "start" });
    } catch (err) {
      showError("purchases-error")(err);
    }
  }

  // What each action the store allows (a purchase's `actions`) is called, and what it did.
  const ACTIONS = {
    resend: ["Resend link", "secondary", "A new link is on its way; the old one no longer works."],
    reset: ["Reset downloads", "secondary", "Downloads and expiry are back to the defaults."],
    revoke: ["Revoke", "danger", "The link is revoked."],
    refund: ["Refund", "danger", "Refund requested: the link stops once Stripe confirms it."],
  };

  function renderDetail(p) {
    const box = $("detail");
    box.classList.remove("hidden");
    // Lines that apply only to some purchases appear only there; the server formats every value.
    const optional = (label, value, shown) => (shown ? [[label, value]] : []);
    const facts = [
      ["Buyer", p.email],
      ["Paid", p.amount],
      ...optional("Charged", p.charged, p.charged),
      ...optional("Discount", p.discount, p.discount_cents > 0),
      ...optional("Tax", p.tax, p.tax_cents > 0),
      ["Refunded", p.refunded],
      ...optional("Disputed", p.disputed, p.disputed_cents > 0),
      ["Link", p.state_label],
      ["Downloads left", p.downloads_left],
      ["Link expires", p.expires],
      ["Receipt", p.receipt],
      ...optional("Fraud warning", p.fraud_warning, p.fraud_warning),
      ...(p.disputes || []).map((d) => ["Dispute", `${d.id}: ${d.status.replace(/_/g, " ")}, ${d.amount}`]),
      ...optional("Dispute", "none", !(p.disputes || []).length),
      ["Payment", p.payment_intent],
      ["Order", p.id],
    ];
    // A definition list, not a table: long ids (pi_…, cs_…) wrap inside the card at any width.
    const list = el("dl", "facts");
    facts.forEach(([label, value]) => list.append(el("dt", null, label), el("dd", null, value)));
    // Only what the store says this purchase can take: a refunded or revoked one takes none.
    const bar = el("div", "actionbar");
    bar.id = "detail-actions";
    (p.actions || []).forEach((action) => {
      const [label, kind] = ACTIONS[action] || [action, "secondary"];
      const b = button(label, `${kind} small`, () => act(p.id, action, label));
      b.id = `action-${action}`;
      bar.appendChild(b);
    });
    if (!bar.childElementCount) bar.appendChild(el("p", "muted-small", `Nothing to do here: this purchase is ${p.state_label}.`));
    const note = el("p", "note");
    note.id = "detail-note";
    note.setAttribute("role", "status");
    const error = el("p", "error");
    error.id = "detail-error";
    error.setAttribute("role", "alert");
    box.replaceChildren(el("h2", null, p.product_name), list, bar, note, error, el("h2", null, "Download log"));
    const log = p.download_log || [];
    if (!log.length) {
      box.appendChild(el("p", "muted-small", "No downloads yet."));
      return;
    }
    const logTable = el("table");
    logTable.id = "download-log";
    logTable.append(...log.map((d) => row([el("td", null, d.when), el("td", "muted-small", d.user_agent), el("td", "muted-small", d.ip_hash)])));
    const wrap = el("div", "table-wrap");
    wrap.appendChild(logTable);
    box.appendChild(wrap);
  }

  async function act(id, action, label) {
    if ((action === "refund" || action === "revoke") && !window.confirm(`${label} this purchase?`)) return;
    clearMessages("detail-note", "detail-error");
    $("detail-actions").querySelectorAll("button").forEach((b) => (b.disabled = true));
    try {
      await api("POST", `${purchasePath(id)}/${action}`);
    } catch (err) {
      $("detail-actions").querySelectorAll("button").forEach((b) => (b.disabled = false));
      showError("detail-error")(err);
      return;
    }
    await Promise.all([showPurchase(id), loadReport().catch(showError("range-error")), loadPurchases().catch(showError("purchases-error"))]);
    text($("detail-note"), ACTIONS[action]?.[2] || "Done.");
  }

  // -- the forms ------------------------------------------------------------------------------

  // A form's submit: disable its button, run `work`, show any failure next to that form.
  function onSubmit(formId, buttonId, errorId, work, overrides) {
    $(formId).addEventListener("submit", async (event) => {
      event.preventDefault();
      text($(errorId), "");
      $(buttonId).disabled = true;
      try {
        await work();
      } catch (err) {
        text($(errorId), friendly(err, overrides));
      } finally {
        $(buttonId).disabled = false;
      }
    });
  }

  function samePasswords(a, b) {
    if ($(a).value !== $(b).value) throw new Error("The two passwords differ. Type the same one twice.");
    return $(a).value;
  }

  function clear(...ids) {
    ids.forEach((id) => {
      $(id).value = "";
    });
  }

  onSubmit("signin-form", "signin-button", "signin-error", async () => {
    text($("signin-note"), "");
    await signIn($("signin-email").value.trim(), $("signin-password").value);
    clear("signin-password");
  });

  onSubmit("newpw-form", "newpw-button", "newpw-error", async () => {
    await answerChallenge({ NEW_PASSWORD: samePasswords("newpw-password", "newpw-confirm") });
    clear("newpw-password", "newpw-confirm", "signin-password");
  });

  onSubmit("mfa-form", "mfa-button", "mfa-error", async () => {
    await answerChallenge({ SOFTWARE_TOKEN_MFA_CODE: $("mfa-code").value.trim() });
    clear("mfa-code", "signin-password");
  });

  const forgotOverrides = {
    NotAuthorizedException: "This account cannot reset its password now. If it is new, sign in with the temporary password from the invitation e-mail.",
    InvalidParameterException: "This account has no verified e-mail address to send a code to.",
  };

  async function sendCode(email) {
    const answer = await cognito("ForgotPassword", { ClientId: CLIENT_ID, Username: email });
    const to = answer.CodeDeliveryDetails?.Destination || email;
    showStep("reset");
    text($("reset-note"), `If ${email} is a seller's address, a code is on its way to ${to}.`);
    $("reset-form").dataset.email = email;
  }

  onSubmit("forgot-form", "forgot-button", "forgot-error", () => sendCode($("forgot-email").value.trim()), forgotOverrides);

  onSubmit(
    "reset-form",
    "reset-button",
    "reset-error",
    async () => {
      const email = $("reset-form").dataset.email;
      const password = samePasswords("reset-password", "reset-confirm");
      await cognito("ConfirmForgotPassword", { ClientId: CLIENT_ID, Username: email, ConfirmationCode: $("reset-code").value.trim(), Password: password });
      $("reset-form").reset();
      showStep("signin");
      $("signin-email").value = email;
      clear("signin-password");
      text($("signin-note"), "Password changed. Sign in with the new one.");
      $("signin-password").focus();
    },
    { NotAuthorizedException: "This account cannot reset its password now." },
  );

  $("resend-link").addEventListener("click", () => {
    text($("reset-error"), "");
    sendCode($("reset-form").dataset.email).catch((err) => text($("reset-error"), friendly(err, forgotOverrides)));
  });

  $("forgot-link").addEventListener("click", () => {
    const email = $("signin-email").value.trim();
    showStep("forgot");
    text($("signin-error"), "");
    if (email) $("forgot-email").value = email;
  });

  document.querySelectorAll(".back-link").forEach((link) =>
    link.addEventListener("click", () => {
      pending = null;
      showStep("signin");
    }),
  );

  $("mfa-start-button").addEventListener("click", async () => {
    const start = $("mfa-start-button");
    text($("security-error"), "");
    start.disabled = true;
    try {
      const answer = await userCall("AssociateSoftwareToken", {});
      text($("totp-secret"), answer.SecretCode);
      text($("totp-uri"), otpauthUri(answer.SecretCode, $("who").textContent));
      $("totp-form").classList.remove("hidden");
      start.classList.add("hidden");
      $("totp-code").focus();
    } catch (err) {
      text($("security-error"), friendly(err));
    } finally {
      start.disabled = false;
    }
  });

  onSubmit("totp-form", "totp-button", "totp-error", async () => {
    const answer = await userCall("VerifySoftwareToken", { UserCode: $("totp-code").value.trim(), FriendlyDeviceName: "dashboard" });
    if (answer.Status !== "SUCCESS") throw new Error(FRIENDLY.EnableSoftwareTokenMFAException);
    await userCall("SetUserMFAPreference", { SoftwareTokenMfaSettings: { Enabled: true, PreferredMfa: true } });
    $("totp-form").reset();
    showMfaOn();
  });

  $("totp-cancel").addEventListener("click", () => {
    $("totp-form").reset();
    $("totp-form").classList.add("hidden");
    text($("totp-secret"), "");
    text($("totp-uri"), "");
    $("mfa-start-button").classList.remove("hidden");
  });

  $("product-form").addEventListener("submit", (event) => {
    event.preventDefault();
    addProduct();
  });
  $("signout-button").addEventListener("click", async () => {
    $("signout-button").disabled = true;
    await revokeRefreshToken();
    $("signout-button").disabled = false;
    signOut();
  });
  $("range-button").addEventListener("click", () => {
    clearMessages("range-error");
    loadReport().catch(showError("range-error"));
  });
  $("csv-button").addEventListener("click", () => {
    clearMessages("range-error");
    downloadCsv();
  });
  $("orders-button").addEventListener("click", () => {
    clearMessages("range-error");
    downloadCsv("/admin/orders", "orders.csv");
  });
  $("search-button").addEventListener("click", () => {
    clearMessages("search-error");
    loadPurchases($("search-email").value.trim()).catch(showError("search-error"));
  });
  $("product-currency").addEventListener("change", () => text($("product-price-currency"), $("product-currency").value.toUpperCase()));
  if (stored(KEYS.id)) showDashboard();
})();
